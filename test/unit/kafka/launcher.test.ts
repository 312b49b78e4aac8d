import { describe, expect, it } from 'vitest';
import { newClusterId } from '../../../deploy/kafka/launcher.js';

describe('local Kafka launcher', () => {
  it('never makes a cluster id that starts with "-" (the storage tool would read it as an option)', () => {
    // 0xf8.. encodes to "-" as the first base64url character; the launcher must draw again.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0xfb), Buffer.from('00112233445566778899aabbccddeeff', 'hex')];
    const id = newClusterId(() => draws.shift() as Buffer);
    expect(id).toBe(Buffer.from('00112233445566778899aabbccddeeff', 'hex').toString('base64url'));
    expect(draws).toHaveLength(0);
    for (let i = 0; i < 2000; i++) {
      const x = newClusterId();
      expect(x).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
