/** Types of scripts/native-op-declarations.mjs (see there). */
export interface OpDeclaration {
  name: string;
  args: { name: string; kind: string }[];
}
export const DECLARATIONS_FILE: string;
export const TYPESCRIPT_FILE: string;
export function readOpDeclarations(file?: string): OpDeclaration[];
export function signatureText(op: OpDeclaration): string;
export function cppHeader(ops: OpDeclaration[]): string;
export function typeScriptSource(ops: OpDeclaration[]): string;
export function formattedTypeScript(ops?: OpDeclaration[]): Promise<string>;
