/**
 * TrueType files for the text in PNG figures. resvg ships no font, so the text would vanish on a machine without
 * system fonts; the npm package dejavu-fonts-ttf provides DejaVu Sans. Without it, the Debian fonts-dejavu-core files
 * are used, and as a last resort whatever fonts resvg finds on the system.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface FigureFonts {
  /** Font files to load; empty when falling back to the system's fonts. */
  fontFiles: string[];
  loadSystemFonts: boolean;
  /** Where the fonts came from, for logs. */
  source: string;
}

const FONT_FILE_NAMES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];
const DEBIAN_DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';

function packagedFontDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  } catch {
    return null;
  }
}

let cached: FigureFonts | null = null;

export function figureFonts(): FigureFonts {
  if (cached !== null) return cached;
  const candidates: { dir: string | null; source: string }[] = [
    { dir: packagedFontDir(), source: 'npm package dejavu-fonts-ttf' },
    { dir: DEBIAN_DEJAVU_DIR, source: `${DEBIAN_DEJAVU_DIR} (Debian fonts-dejavu-core)` },
  ];
  for (const { dir, source } of candidates) {
    if (dir === null) continue;
    const files = FONT_FILE_NAMES.map((name) => join(dir, name)).filter((file) => existsSync(file));
    if (files.length > 0) {
      cached = { fontFiles: files, loadSystemFonts: false, source };
      return cached;
    }
  }
  cached = {
    fontFiles: [],
    loadSystemFonts: true,
    source:
      'system fonts (DejaVu not found: install dejavu-fonts-ttf or fonts-dejavu-core, or PNG text may be missing)',
  };
  return cached;
}
