// The baseline for login throughput: raw argon2id verifications per second at the same parameters and
// the same concurrency (one per core) as AllIN's hashing semaphore, in a process of its own.
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

const seconds = Number(process.argv[2] ?? 10);
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const stored = await hash('benchmark-password-0123', options);
const concurrency = availableParallelism();
let done = 0;
const deadline = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < deadline) {
    await verify(stored, 'benchmark-password-0123', options);
    done++;
  }
}));
console.log(JSON.stringify({ verifiesPerSecond: done / seconds, concurrency }));
