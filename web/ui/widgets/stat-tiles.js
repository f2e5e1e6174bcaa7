// A row of labelled figures ("tiles"). Values update in place; a changed value flashes.
//
// const tiles = new StatTiles(container, [{ key, label, format, note, tone(value) }])
// tiles.update({ key: value, ... })

import { h, setText } from '../lib/dom.js';

export class StatTiles {
  constructor(container, specs, { columns = 6 } = {}) {
    this.specs = specs;
    this.values = new Map();
    container.classList.add('tiles');
    if (columns === 4) container.classList.add('tiles-4');
    for (const spec of specs) {
      const value = h('div', { class: 'tile-value', text: '—' });
      const note = h('div', { class: 'tile-note', text: spec.note ?? '' });
      const tile = h('div', { class: 'tile', dataset: { tile: spec.key } },
        h('div', { class: 'tile-label', text: spec.label }), value, note);
      container.append(tile);
      this.values.set(spec.key, { tile, value, note, spec });
    }
  }

  update(data, { flash = true } = {}) {
    for (const [key, { tile, value, spec }] of this.values) {
      if (!(key in data)) continue;
      // A first value (replacing the placeholder) appears without the highlight.
      setText(value, spec.format(data[key]), { flash: flash && value.textContent !== '—' });
      tile.classList.remove('accent', 'alerting', 'good');
      const tone = spec.tone?.(data[key]);
      if (tone) tile.classList.add(tone);
    }
  }

  note(key, text) {
    const entry = this.values.get(key);
    if (entry) setText(entry.note, text);
  }
}
