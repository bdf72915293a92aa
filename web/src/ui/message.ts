// ui/message.ts — a message box: one paragraph of text and, below it, commands the user can
// copy (e.g. the `tagscape analyze` line that adds a missing space). null hides the box.
export function render_message(box: HTMLElement, text: string | null, commands: readonly string[] = []) {
  box.replaceChildren();
  box.hidden = text === null;
  if (text === null) return;
  const p = document.createElement('p');
  p.textContent = text;
  box.append(p);
  for (const command of commands) {
    const code = document.createElement('code');
    code.textContent = command;
    box.append(code);
  }
}
