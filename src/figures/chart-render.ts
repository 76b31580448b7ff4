/** Renders a vega-lite specification to SVG (vega, headless) and the SVG to PNG (resvg), without a browser. */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { FIGURE_FONT_FAMILY } from './accuracy-chart.ts';
import { figureFonts } from './figure-fonts.ts';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG at `scale` times the SVG's size (2 gives a sharp figure for papers and slides). */
export function renderPng(svg: string, scale = 2): Uint8Array {
  const fonts = figureFonts();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      fontFiles: fonts.fontFiles,
      loadSystemFonts: fonts.loadSystemFonts,
      defaultFontFamily: FIGURE_FONT_FAMILY,
      sansSerifFamily: FIGURE_FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}
