/** Tool version (package.json) and model version: bump MODEL_VERSION whenever a rule or constant changes results. */
export const TOOL_VERSION = '0.1.0';
export const MODEL_VERSION = '1';
