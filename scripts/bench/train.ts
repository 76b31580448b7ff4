/** `npm run bench -- train`: placeholder until its issue lands. */
export async function run(_argv: string[]): Promise<void> {
  console.error('bench train: not implemented yet');
  process.exit(1);
}
