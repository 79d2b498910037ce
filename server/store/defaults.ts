// defaults.ts: the store's default limits, apart from the store so configuration code can
// read them without loading the native addon.
export const DEFAULT_MAX_TENSOR_BYTES = 1024 ** 3;
export const DEFAULT_MAX_CPU_CONTEXTS = 8;
