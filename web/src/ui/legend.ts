// ui/legend.ts — what the colours mean: track colours, or a value gradient with its range.
import { TRACK_PALETTE, VALUE_PALETTE } from '../colour';
import type { ColourMessage } from '../protocol';

export function render_legend(root: HTMLElement, legend: ColourMessage['legend'] | null) {
  root.replaceChildren();
  if (!legend) return;
  if (legend.kind === 'track') {
    const swatches = document.createElement('span');
    swatches.className = 'swatches';
    for (const c of TRACK_PALETTE.slice(0, Math.min(legend.tracks, 10))) {
      const s = document.createElement('i');
      s.style.background = c;
      swatches.append(s);
    }
    root.append(`Colour: track (${legend.tracks} track${legend.tracks === 1 ? '' : 's'}) `, swatches);
    return;
  }
  const bar = document.createElement('span');
  bar.className = 'gradient';
  bar.style.background = `linear-gradient(to right, ${VALUE_PALETTE.join(', ')})`;
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  root.append(`Colour: ${legend.label} `, fmt(legend.min), ' ', bar, ' ', fmt(legend.max));
}
