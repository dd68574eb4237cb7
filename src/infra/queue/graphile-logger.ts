// graphile-worker logs through its own Logger interface; route it into pino so its lines share our
// format, levels and redaction.
import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../logger.ts';

export function graphileLogger(log: Logger): GraphileLogger {
  const child = log.child({ component: 'graphile-worker' });
  return new GraphileLogger(() => (level, message, meta) => {
    const lvl = level === 'warning' ? 'warn' : level === 'error' ? 'error' : level === 'info' ? 'info' : 'debug';
    // graphile-worker is chatty at info about routine polling; keep its info at debug except for warnings up.
    child[lvl === 'info' ? 'debug' : lvl](meta ?? {}, message);
  });
}
