// The baseline for login throughput: raw argon2id verifications per second at the same parameters and
// the same concurrency (one per core) as AllIN's hashing semaphore, in a process of its own. It also
// reports the CPU time each verification took (all threads), to compare with where a login's goes.
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

const seconds = Number(process.argv[2] ?? 10);
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const stored = await hash('benchmark-password-0123', options);
const concurrency = availableParallelism();
let done = 0;
const cpu0 = process.cpuUsage();
const deadline = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < deadline) {
    await verify(stored, 'benchmark-password-0123', options);
    done++;
  }
}));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ verifiesPerSecond: done / seconds, concurrency, cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / done }));
