// DOM construction without HTML parsing. Every string given here reaches the page as a text
// node or through textContent/setAttribute, never as markup: agent-supplied names (channel
// names, titles, categories, agent ids) cannot inject elements or script.

// h('a', {class: 'x', href: '#/', text: 'label'}, child, ...): one element.
// Props: `class`, `text` (textContent), `dataset` (object), `on<event>` (listener), anything
// else is an attribute. `style`, `srcdoc` and inline handler attributes are refused: style goes
// through CSS classes (strict CSP), behaviour through listeners.
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'style' || key === 'srcdoc' || key.startsWith('on')) {
      throw new Error(`h(): attribute "${key}" is not allowed`);
    } else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

// Appends children (nodes, strings as text, nested arrays; null/false skipped).
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// Replaces every child of `parent`.
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

// Sets textContent only when it changed (cheap for live updates), and optionally marks the
// element for a short highlight.
export function setText(node, text, { flash = false } = {}) {
  const value = String(text);
  if (node.textContent === value) return false;
  node.textContent = value;
  if (flash) {
    node.classList.remove('flash');
    void node.offsetWidth;  // restart the animation
    node.classList.add('flash');
  }
  return true;
}

// An error panel with a heading and a message (both as text).
export function errorBox(heading, error) {
  return h('div', { class: 'error-box', role: 'alert' },
    h('h2', { text: heading }),
    h('p', { text: error && error.message ? error.message : String(error) }));
}
