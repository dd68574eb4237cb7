// What `allin seed` builds: an agency-sized dataset described as numbers, before any SQL. The largest
// workspace is the agency the performance goals name (100 Sandbox accounts, 25 members, 100,000 posts
// over two years, 300,000 targets); one workspace has exactly 20 posts (the baseline the load test
// compares with); 48 more are small ones of growing size. `scale` shrinks everything but the 20-post
// workspace (0.01 for tests). Pure: the load test reads the names and sign-ins from here without touching
// a database.

/** Names the load test finds the two compared workspaces by. */
export const LARGEST_WORKSPACE_NAME = 'Northwind Agency';
export const BASELINE_WORKSPACE_NAME = 'Baseline (20 posts)';

/** Who signs in to both compared workspaces (owner of each), and the password every seeded member has. */
export const SEED_OWNER_EMAIL = 'agency-owner@seed.example.com';
export const DEFAULT_SEED_PASSWORD = 'seeded-Agency-harbour-lantern-2026';

export const WORKSPACE_COUNT = 50;
export const BASELINE_POSTS = 20;
/** Inbox messages across every workspace at scale 1 (the inbox benchmark's million), and the baseline's. */
export const INBOX_MESSAGES = 1_000_000;
export const BASELINE_INBOX_MESSAGES = 40;

/** Weekly posting slots every seeded account has (ISO weekday, local time), for the queue. */
export const SEED_SLOTS = [1, 2, 3, 4, 5].flatMap((weekday) => ['09:00', '12:30', '17:00'].map((time) => ({ weekday, time })));

const ZONES = ['Europe/Berlin', 'America/New_York', 'Europe/London', 'Asia/Tokyo', 'America/Los_Angeles', 'Australia/Sydney', 'Europe/Paris', 'America/Sao_Paulo'];

export interface MemberSpec {
  email: string;
  name: string;
  role: 'owner' | 'admin' | 'editor' | 'viewer';
}

export interface WorkspaceSpec {
  /** 0: the largest; 1: the 20-post baseline; 2…49: small ones. */
  index: number;
  name: string;
  timeZone: string;
  requireApproval: boolean;
  accounts: number;
  members: MemberSpec[];
  posts: number;
  media: number;
  apiKeys: number;
  webhooks: number;
  /** Inbox messages (comments, replies, mentions and the team's answers) collected for its accounts. */
  inboxMessages: number;
}

export interface SeedPlan {
  seed: number;
  scale: number;
  workspaces: WorkspaceSpec[];
}

const at = (n: number, scale: number, min: number) => Math.max(min, Math.round(n * scale));
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function agencyMembers(members: number): MemberSpec[] {
  // One owner, then admins, editors and viewers in the proportions of an agency (1 : 4 : 12 : 8 of 25).
  const out: MemberSpec[] = [{ email: SEED_OWNER_EMAIL, name: 'Agency Owner', role: 'owner' }];
  const admins = Math.max(1, Math.round((members - 1) * 4 / 24));
  const editors = Math.max(1, Math.round((members - 1) * 12 / 24));
  for (let k = 1; k < members; k++) {
    const role = k <= admins ? 'admin' : k <= admins + editors ? 'editor' : 'viewer';
    const n = role === 'admin' ? k : role === 'editor' ? k - admins : k - admins - editors;
    out.push({ email: `agency-${role}-${pad(n)}@seed.example.com`, name: `Agency ${role[0]!.toUpperCase()}${role.slice(1)} ${pad(n)}`, role });
  }
  return out;
}

/** The dataset for `seed` and `scale` (0 < scale ≤ 1). */
export function seedPlan(seed: number, scale: number): SeedPlan {
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`scale must be in (0, 1], not ${scale}`);
  const workspaces: WorkspaceSpec[] = [];
  const agency = agencyMembers(at(25, scale, 3));
  workspaces.push({
    index: 0, name: LARGEST_WORKSPACE_NAME, timeZone: 'Europe/Berlin', requireApproval: true,
    accounts: at(100, scale, 5), members: agency, posts: at(100_000, scale, 50), media: at(2_000, scale, 20), apiKeys: 12, webhooks: 3,
    inboxMessages: 0, // the rest of the million, below
  });
  // The baseline: the same owner and admins, so one sign-in reads both workspaces with the same rights.
  workspaces.push({
    index: 1, name: BASELINE_WORKSPACE_NAME, timeZone: 'Europe/Berlin', requireApproval: true,
    accounts: 3, members: agency.filter((m) => m.role === 'owner' || m.role === 'admin'), posts: BASELINE_POSTS, media: 5, apiKeys: 2, webhooks: 1,
    inboxMessages: BASELINE_INBOX_MESSAGES,
  });
  // Small workspaces from 5 to 3,000 posts (geometric), each with its own owner and a few members.
  for (let i = 2; i < WORKSPACE_COUNT; i++) {
    const k = i - 2;
    const fullPosts = Math.round(5 * (3000 / 5) ** (k / (WORKSPACE_COUNT - 3)));
    const members: MemberSpec[] = [{ email: `client${pad(i)}-owner@seed.example.com`, name: `Client ${pad(i)} Owner`, role: 'owner' }];
    for (let m = 1; m <= i % 4; m++) {
      const role = m === 1 ? 'admin' : m === 2 ? 'editor' : 'viewer';
      members.push({ email: `client${pad(i)}-${role}@seed.example.com`, name: `Client ${pad(i)} ${role}`, role });
    }
    workspaces.push({
      index: i, name: `Client ${pad(i)}`, timeZone: ZONES[i % ZONES.length]!, requireApproval: i % 3 === 0,
      accounts: 1 + (i % 6), members, posts: at(fullPosts, scale, 1), media: at(Math.min(300, Math.round(fullPosts / 10)), scale, 0),
      apiKeys: i % 3, webhooks: i % 4 === 0 ? 1 : 0,
      // About 25 comments and mentions for every post a small client has: its share of the million.
      inboxMessages: at(fullPosts * 25, scale, 0),
    });
  }
  // The agency's accounts draw the rest of the million (about 40% of it).
  const others = workspaces.reduce((a, w) => a + w.inboxMessages, 0);
  workspaces[0]!.inboxMessages = Math.max(at(50_000, scale, 50), at(INBOX_MESSAGES, scale, 0) - others);
  return { seed, scale, workspaces };
}

/** Targets a post of workspace `ws` has, by its number within the workspace: 1 to 5, cycling (mean 3 with 5+ accounts). */
export function targetsOfPost(ws: WorkspaceSpec, k: number): number {
  return 1 + (k % Math.min(5, ws.accounts));
}

/** Totals a plan will insert, for the summary and the tests. */
export function planTotals(plan: SeedPlan): { workspaces: number; users: number; accounts: number; posts: number; targets: number; media: number; inboxMessages: number } {
  const users = new Set(plan.workspaces.flatMap((w) => w.members.map((m) => m.email)));
  let targets = 0;
  for (const w of plan.workspaces) for (let k = 0; k < w.posts; k++) targets += targetsOfPost(w, k);
  return {
    workspaces: plan.workspaces.length, users: users.size, accounts: plan.workspaces.reduce((a, w) => a + w.accounts, 0),
    posts: plan.workspaces.reduce((a, w) => a + w.posts, 0), targets, media: plan.workspaces.reduce((a, w) => a + w.media, 0),
    inboxMessages: plan.workspaces.reduce((a, w) => a + w.inboxMessages, 0),
  };
}
