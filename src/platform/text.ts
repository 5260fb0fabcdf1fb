// Checks of text that several services make of what clients send.

/** Whether the text holds a control character (U+0000 to U+001F, or U+007F): no id or name of ours has one. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
