/**
 * The CLI's bounded read of results.json, exit reports and profiles. It lives in src/input so that
 * the lower folders that read such files themselves (src/import's readReport, src/profiles' catalog,
 * a scenario's workload profiles) refuse the same endless inputs and say a file system error with
 * the same words.
 */
export { fsErrorText, MAX_INPUT_BYTES, readInputText } from '../input/readBounded.js';
