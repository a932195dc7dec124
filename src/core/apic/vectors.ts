/**
 * 256-bit vector registers (IRR, ISR, TMR, PIR, EOI-exit bitmap) stored as 8 consecutive 32-bit
 * words inside a shared Int32Array, word i holding vectors 32*i .. 32*i+31 (the layout of the
 * APIC page: SDM vol. 3A "Interrupt Request, In-Service and Trigger Mode Registers").
 * Every function takes the array and the word offset of the register; none allocates.
 */

export function vecTest(s: Int32Array, base: number, vector: number): boolean {
  return (s[base + (vector >>> 5)] & (1 << (vector & 31))) !== 0;
}

export function vecSet(s: Int32Array, base: number, vector: number): void {
  s[base + (vector >>> 5)] |= 1 << (vector & 31);
}

export function vecClear(s: Int32Array, base: number, vector: number): void {
  s[base + (vector >>> 5)] &= ~(1 << (vector & 31));
}

/** Highest set vector, or -1 when the register is empty. */
export function vecHighest(s: Int32Array, base: number): number {
  for (let w = 7; w >= 0; w--) {
    const word = s[base + w];
    if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
  }
  return -1;
}

/** Priority class of a vector: bits 7:4 (SDM "Interrupt, Task, and Processor Priority"). */
export function priorityClass(vector: number): number {
  return (vector >>> 4) & 0xf;
}
