// Mail: with MAIL_URL set, mail goes over real SMTP (smtp-server, nodemailer's own server, as the
// peer); a refused delivery is retried by the job runner; without MAIL_URL it stays in the outbox.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { startTestApp, uniqueEmail, strongPassword, type TestApp } from './support/app.ts';
import { eventually } from './support/eventually.ts';
import { mailOutbox } from '../src/modules/mail/schema.ts';

interface Received { to: string[]; data: string }

function smtp(rejectFirst: number): Promise<{ port: number; received: Received[]; attempts: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        attempts++;
        if (attempts <= rejectFirst) return callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  return new Promise((res) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.server.address() as { port: number }).port;
      res({ port, received, attempts: () => attempts, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const apps: TestApp[] = [];
after(async () => { for (const a of apps) await a.stop(); });

test('with MAIL_URL, the verification mail is delivered over SMTP, and a refused delivery is retried', async () => {
  const server = await smtp(1);
  try {
    const app = await startTestApp({ MAIL_URL: `smtp://127.0.0.1:${server.port}`, MAIL_FROM: 'AllIN <no-reply@allin.test>' }, 'start');
    apps.push(app);
    const email = uniqueEmail('smtp');
    assert.equal((await app.call('POST', '/api/auth/register', { body: { email, password: strongPassword(), name: 'Sam' } })).status, 202);
    // graphile-worker retries a failed job after an exponential delay (about 2 s for the first retry).
    await eventually(() => server.received.length > 0, 15_000, 'the retried delivery', 100).catch(() => { /* the assertions below say what arrived */ });
    assert.equal(server.received.length, 1, `attempts: ${server.attempts()}`);
    assert.ok(server.attempts() >= 2, 'the first delivery was refused and retried');
    assert.deepEqual(server.received[0]!.to, [email]);
    // The body travels quoted-printable: undo soft line breaks and =XX escapes before reading it.
    const body = server.received[0]!.data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    assert.match(body, /Subject: Confirm your email address for AllIN/);
    assert.match(body, /verify-email#token=ve_/);
    // The row is marked after the server's answer reaches the job: wait for it rather than race it.
    const row = await eventually(async () => {
      const [r] = await app.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, email));
      return r?.sentAt ? r : undefined;
    }, 15_000, 'the delivery to be marked', 100);
    assert.ok(row!.sentAt, 'marked delivered');
    assert.equal(row!.attempts, 2);
    assert.match(String(row!.lastError), /try again later/);
  } finally {
    await server.close();
  }
});

test('without MAIL_URL, mail stays readable in the outbox (and the dev route), never lost', async () => {
  const app = await startTestApp({}, 'start');
  apps.push(app);
  const email = uniqueEmail('outbox');
  await app.call('POST', '/api/auth/register', { body: { email, password: strongPassword(), name: 'Olive' } });
  const mail = await eventually(async () => {
    const r = await app.call('GET', `/api/dev/mail?to=${encodeURIComponent(email)}`);
    return r.body.mail?.[0]?.sentAt && r;
  }, 10_000, 'the mail job to run');
  assert.equal(mail.status, 200);
  assert.equal(mail.body.mail.length, 1);
  assert.match(mail.body.mail[0].text, /verify-email#token=ve_/);
  assert.ok(mail.body.mail[0].sentAt, 'the job ran and logged it');
});

test('the dev mail route does not exist in production', async () => {
  const app = await startTestApp({ NODE_ENV: 'production', AUTH_SECRET: 'Zq8#kP2!vR9@mW4$tY7%bN1^cX6&hJ3*', METRICS_TOKEN: undefined });
  apps.push(app);
  assert.equal((await app.call('GET', '/api/dev/mail')).status, 404);
});
