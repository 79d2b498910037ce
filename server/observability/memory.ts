// memory.ts: what the server's tensor memory holds, by kind (parameter copies, gradients,
// constants, optimizer states, pushed gradients waiting for their step, reads being sent), and
// what each device holds against its --memory-budget. Computed when asked (a scrape, a status
// poll) by walking the store and the trainers: nothing is counted on the hot path.
import * as nk from '../../native/index';
import type { ParameterStore } from '../store/parameter-store';
import type { TrainerRegistry } from '../trainer/registry';

export const MEMORY_KINDS = [
  'parameters',
  'gradients',
  'constants',
  'optimizer_states',
  'staged_gradients',
  'read_staging',
] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

const bytesOf = (tensors: ReadonlyArray<{ byteLength: number }> | null): number =>
  tensors === null ? 0 : tensors.reduce((a, t) => a + t.byteLength, 0);

/** Bytes held by kind, every device together. */
export function memoryByKind(store: ParameterStore, trainers: TrainerRegistry): Record<MemoryKind, number> {
  const out: Record<MemoryKind, number> = {
    parameters: 0,
    gradients: 0,
    constants: 0,
    optimizer_states: 0,
    staged_gradients: 0,
    read_staging: nk.memoryStats().allocated,
  };
  for (const e of store.entriesInOrder()) {
    if (e.isConstant) out.constants += bytesOf(e.data);
    else out.parameters += bytesOf(e.data);
    out.gradients += bytesOf(e.grad);
  }
  for (const t of trainers.all()) {
    for (const st of t.states.values()) for (const list of st.tensors) out.optimizer_states += bytesOf(list);
    for (const mine of t.pending.values()) for (const g of mine.values()) out.staged_gradients += g.values.byteLength;
  }
  return out;
}

export interface DeviceMemory {
  /** "cpu(0)", "gpu(1)". */
  device: string;
  allocated: number;
  peak: number;
  /** null: no budget. */
  budget: number | null;
}

/** Every device this server may place tensors on: cpu(0..maxCpuContexts-1) and each GPU present. */
export function deviceMemory(maxCpuContexts: number): DeviceMemory[] {
  const devices: nk.Device[] = [];
  for (let i = 0; i < maxCpuContexts; i++) devices.push(nk.cpu(i));
  for (let i = 0; i < nk.buildInfo().gpuCount; i++) devices.push(nk.gpu(i));
  return devices.map((d) => {
    const s = nk.memoryStats(d);
    return {
      device: `${d.type}(${d.id})`,
      allocated: s.allocated,
      peak: s.peak,
      budget: s.budget < 0 ? null : s.budget,
    };
  });
}
