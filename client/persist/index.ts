// The client's saveParameters / loadParameters, split by what each part does (see options.ts).
export { LOAD_FORMATS, SAVE_FORMATS } from './options';
export type {
  LoadFormat,
  LoadParametersOptions,
  LoadParametersResult,
  PersistHost,
  PersistProgress,
  SaveFormat,
  SaveParametersOptions,
  SaveParametersResult,
} from './options';
export { saveParameters } from './save';
export { loadParameters } from './load';
