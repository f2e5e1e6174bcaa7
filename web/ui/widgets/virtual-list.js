// A list of any length that keeps only the rows in view (plus a small margin) in the DOM.
// Rows have one fixed height; a spacer gives the scroll range and each row is placed with a
// CSS transform, so scrolling costs a handful of text updates however long the list is.
//
// new VirtualList({ viewport, rowHeight, createRow(), updateRow(row, item, index), keyOf(item) })
// - setItems(items): the whole list (the array is kept, not copied); the viewport's
//   data-items attribute tells how many there are;
// - refresh(): repaint the rows in view (after items changed in place);
// - refreshKey(key): repaint one item if it is in view;
// - destroy().

const OVERSCAN = 6;

export class VirtualList {
  constructor({ viewport, rowHeight, createRow, updateRow, keyOf }) {
    this.viewport = viewport;
    this.rowHeight = rowHeight;
    this.createRow = createRow;
    this.updateRow = updateRow;
    this.keyOf = keyOf;
    this.items = [];
    this.rows = new Map();  // index -> row element currently showing items[index]
    this.spare = [];
    this.spacer = document.createElement('div');
    this.spacer.className = 'list-spacer';
    this.viewport.append(this.spacer);
    this.frame = 0;
    this.onScroll = () => this.schedule();
    this.viewport.addEventListener('scroll', this.onScroll, { passive: true });
    this.resizeObserver = new ResizeObserver(() => this.schedule());
    this.resizeObserver.observe(this.viewport);
  }

  setItems(items) {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    this.viewport.dataset.items = String(items.length);
    this.render(true);
  }

  refresh() {
    this.render(true);
  }

  refreshKey(key) {
    for (const [index, row] of this.rows) {
      const item = this.items[index];
      if (item && this.keyOf(item) === key) this.updateRow(row, item, index);
    }
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render(false);
    });
  }

  visibleRange() {
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(this.items.length - 1,
      Math.ceil((this.viewport.scrollTop + height) / this.rowHeight) + OVERSCAN);
    return [first, last];
  }

  render(repaintAll) {
    const [first, last] = this.visibleRange();
    for (const [index, row] of this.rows) {
      if (index < first || index > last) {
        this.rows.delete(index);
        row.hidden = true;
        this.spare.push(row);
      }
    }
    for (let index = first; index <= last; index++) {
      let row = this.rows.get(index);
      const fresh = !row;
      if (fresh) {
        row = this.spare.pop();
        if (!row) {
          row = this.createRow();
          this.spacer.append(row);
        }
        row.hidden = false;
        row.style.transform = `translateY(${index * this.rowHeight}px)`;
        this.rows.set(index, row);
      }
      if (fresh || repaintAll) this.updateRow(row, this.items[index], index);
    }
    // Spare rows beyond a screenful are dropped so the DOM stays small after a resize.
    const keep = last - first + 1;
    while (this.spare.length > keep) this.spare.pop().remove();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.viewport.removeEventListener('scroll', this.onScroll);
    this.resizeObserver.disconnect();
    this.spacer.remove();
  }
}
