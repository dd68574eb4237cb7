// The networks this AllIN offers, as GET /api/networks and the MCP tools show them: how each connects, its
// text and media rules, and what AllIN does there (figures, inbox, actions on messages).
import type { ProviderRegistry } from '../../providers/registry.ts';
import { MESSAGE_ACTIONS } from '../../providers/types.ts';

export function describeNetworks(registry: ProviderRegistry) {
  return registry.enabled().map((id) => {
    const p = registry.get(id);
    const m = p.meta;
    return {
      id, displayName: m.displayName, connect: m.connect, userSuppliedHost: m.userSuppliedHost, docsUrl: m.docsUrl, limits: m.limits,
      capabilities: {
        metrics: typeof p.metrics === 'function', inbox: (m.inbox?.sources.length ?? 0) > 0 && typeof p.collectInbox === 'function',
        // As the inbox's actions check them (src/modules/inbox/actions.ts): declared, with the adapter's call and its read-back.
        messageActions: MESSAGE_ACTIONS.filter((a) => m.inbox?.actions?.includes(a) && typeof p[a] === 'function' && typeof p.messageState === 'function'),
        messageDeletes: m.inbox?.actions?.includes('delete') ? m.inbox.deletes ?? 'own' : null,
        inboxAccountKinds: m.inbox?.accountKinds ?? null,
        inboxNotCollected: m.inbox?.notCollected ?? null,
      },
    };
  });
}
