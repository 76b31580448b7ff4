/** The addon's op table, checked against the op declarations this TypeScript was generated from. */
import type { TorchAddon } from './addon.ts';
import { NATIVE_OP_SIGNATURES } from './native-ops.ts';
import type { NativeOp } from './native-ops.ts';

/** `name(argument: kind, ...)`, as the addon reports each op it was built with. */
function signatureText(op: NativeOp): string {
  return `${op}(${NATIVE_OP_SIGNATURES[op].map(([name, kind]) => `${name}: ${kind}`).join(', ')})`;
}

/** The op index of every declared op; throws when the addon was built from other declarations. */
export function opIndices(addon: TorchAddon): Map<string, number> {
  const built = addon.opSignatures();
  const indices = new Map(built.map((signature, index) => [signature.slice(0, signature.indexOf('(')), index]));
  for (const op of Object.keys(NATIVE_OP_SIGNATURES) as NativeOp[]) {
    const index = indices.get(op);
    const wanted = signatureText(op);
    const found = index === undefined ? 'missing' : built[index];
    if (found !== wanted) {
      throw new Error(
        `the torch addon was built from other op declarations (${wanted} is ${found}); ` +
          'rebuild it: node scripts/build-torch-addon.mjs',
      );
    }
  }
  return indices;
}
