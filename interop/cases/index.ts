/** Every case of the matrix, in the order of `caseNames`. */
import { caseNames, type CaseName } from '../types.js';
import { handshake, http3, multiplexing, transfer } from './basic.js';
import type { InteropCase } from './case.js';
import { amplificationlimit, blackhole, handshakeloss, transferloss } from './path.js';
import { chacha20, keyupdate, mtls, resumption, retry, zerortt } from './tls.js';

const all: Record<CaseName, InteropCase> = {
  handshake,
  transfer,
  multiplexing,
  http3,
  retry,
  resumption,
  zerortt,
  chacha20,
  keyupdate,
  handshakeloss,
  transferloss,
  blackhole,
  amplificationlimit,
  mtls,
};

export const cases: readonly InteropCase[] = caseNames.map((name) => all[name]);
export type { InteropCase } from './case.js';
