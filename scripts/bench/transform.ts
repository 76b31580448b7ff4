/** `npm run bench -- transform`: placeholder until its issue lands. */
export async function run(_argv: string[]): Promise<void> {
  console.error('bench transform: not implemented yet');
  process.exit(1);
}
