/** `npm run bench -- data`: placeholder until its issue lands. */
export async function run(_argv: string[]): Promise<void> {
  console.error('bench data: not implemented yet');
  process.exit(1);
}
