// The posts module's parts, built once from its dependencies and handed to its routes and to publishing.
// Each part has one job: reading (read.ts), checking content against the networks' rules (validation.ts),
// writing (write.ts), the scheduling state machine (scheduling.ts), slots and the queue (queue.ts), bulk
// upload (bulk.ts) and the calendar view (calendar.ts).
import type { Db } from '../../infra/db/client.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { MediaLookup } from './model.ts';
import type { PublishedText } from './validation.ts';
import { PostReader } from './read.ts';
import { PostValidator } from './validation.ts';
import { PostQueue } from './queue.ts';
import { PostScheduling } from './scheduling.ts';
import { PostWriter } from './write.ts';
import { BulkUpload } from './bulk.ts';
import { PostCalendar } from './calendar.ts';

export interface PostsDeps {
  db: Db;
  registry: ProviderRegistry;
  media: MediaLookup;
  /** How a text is counted once its links are shortened (the links module), when the workspace shortens them. */
  links?: PublishedText;
  now?: () => Date;
  /** A schedule closer than this to now is "now"; earlier than now minus it is refused as past. */
  pastToleranceMs?: number;
}

export class PostsService {
  readonly reader: PostReader;
  readonly validator: PostValidator;
  readonly queue: PostQueue;
  readonly scheduling: PostScheduling;
  readonly writer: PostWriter;
  readonly bulk: BulkUpload;
  readonly calendar: PostCalendar;

  constructor(d: PostsDeps) {
    const now = d.now ?? (() => new Date());
    const { db } = d;
    this.reader = new PostReader({ db });
    this.validator = new PostValidator({ db, registry: d.registry, media: d.media, ...(d.links ? { links: d.links } : {}) });
    this.queue = new PostQueue({ db, now });
    this.scheduling = new PostScheduling({ db, validator: this.validator, queue: this.queue, now, ...(d.pastToleranceMs !== undefined ? { pastToleranceMs: d.pastToleranceMs } : {}) });
    this.writer = new PostWriter({ db, validator: this.validator, scheduling: this.scheduling, queue: this.queue, now });
    this.bulk = new BulkUpload({ db, validator: this.validator, scheduling: this.scheduling });
    this.calendar = new PostCalendar({ db });
  }
}
