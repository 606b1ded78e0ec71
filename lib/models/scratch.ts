/**
 * Scratch that the candidates of one grid search share (one Gram for every λ),
 * typed by slot: a `ScratchSlot<T>` names what is stored and its type, a string
 * key tells entries of one slot apart (e.g. ∞-AE's depth, support and seed).
 *
 *   const GRAM = new ScratchSlot<GramState>("ease:gram");
 *   scratch.get(GRAM, "") ?? scratch.set(GRAM, "", await buildGram());
 */
export class ScratchSlot<T> {
  /** Never set: carries T so that get/set are typed by the slot. */
  declare readonly valueType?: T;
  constructor(readonly name: string) {}
}

export class FitScratch {
  private readonly entries = new Map<string, unknown>();

  get<T>(slot: ScratchSlot<T>, key: string): T | undefined {
    return this.entries.get(`${slot.name}/${key}`) as T | undefined;
  }

  /** Stores `value` (replacing the slot's entry under `key`) and returns it. */
  set<T>(slot: ScratchSlot<T>, key: string, value: T): T {
    this.entries.set(`${slot.name}/${key}`, value);
    return value;
  }

  /** Drops every entry (large buffers go with them; shared device resources are released). */
  clear(): void {
    for (const v of this.entries.values()) (v as { release?: () => void } | null)?.release?.();
    this.entries.clear();
  }
}

/** A device resource shared by a scratch and the models that use it; freed when the last lets go. */
export class SharedResource<T extends { dispose(): void }> {
  private refs = 1;
  constructor(readonly value: T) {}
  retain(): this {
    if (this.refs === 0) throw new Error("device resource used after release");
    this.refs++;
    return this;
  }
  release(): void {
    if (this.refs > 0 && --this.refs === 0) this.value.dispose();
  }
}
