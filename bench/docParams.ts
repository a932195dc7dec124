/** Regenerates the parameter table in docs/MODEL.md from the data files (npm run docs:params). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelData, REPO_ROOT } from '../src/model/data.js';
import { renderParamTable, TABLE_BEGIN, TABLE_END } from '../src/model/paramTable.js';

const file = join(REPO_ROOT, 'docs', 'MODEL.md');
const text = readFileSync(file, 'utf8');
const a = text.indexOf(TABLE_BEGIN);
const b = text.indexOf(TABLE_END);
if (a < 0 || b < 0) throw new Error('docs/MODEL.md has no generated-table markers');
writeFileSync(file, text.slice(0, a) + renderParamTable(loadModelData().params) + text.slice(b + TABLE_END.length));
console.log('docs/MODEL.md parameter table regenerated');
