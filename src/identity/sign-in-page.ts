// The sign-in page of OpenSpine's OpenID Connect providers (staff at the CIS2-shaped one, patients
// at the NHS login-shaped one): plain HTML that works without scripts, styled after the NHS.UK
// design system's form pattern.

export type SignInPageFields = Record<'client_id' | 'redirect_uri' | 'scope' | 'state' | 'nonce' | 'code_challenge' | 'code_challenge_method', string>;

/** One input the person fills in; `keep` shows what they typed again after a refusal (never a password). */
export type SignInInput = { name: string; label: string; type: 'text' | 'email' | 'password'; hint?: string; autocomplete?: string; inputmode?: string; keep?: boolean };

/** What a provider's page looks like: whose service it is and what it asks for. */
export type SignInForm = { service: string; inputs: SignInInput[] };

export function signInPage(form: SignInForm, fields: SignInPageFields, options: { action: string; error?: string; typed?: Record<string, string | undefined> }): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  const inputs = form.inputs.map((input) => inputHtml(input, input.keep ? (options.typed?.[input.name] ?? '') : '')).join('\n      ');
  const error = options.error ? `<div class="error" role="alert"><h2>There is a problem</h2><p>${escapeHtml(options.error)}</p></div>` : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in - ${escapeHtml(form.service)}</title>
  <style>
    body { font-family: Arial, sans-serif; margin: 0; color: #212b32; background: #f0f4f5; }
    header { background: #005eb8; color: #fff; padding: 16px 24px; font-weight: bold; font-size: 19px; }
    main { max-width: 480px; margin: 32px auto; background: #fff; padding: 24px 32px; }
    label { display: block; font-weight: bold; margin: 16px 0 4px; }
    input[type=text], input[type=email], input[type=password] { width: 100%; box-sizing: border-box; padding: 8px; font-size: 19px; border: 2px solid #4c6272; }
    .hint { color: #4c6272; font-size: 16px; }
    button { margin-top: 24px; background: #007f3b; color: #fff; border: 0; padding: 12px 16px; font-size: 19px; font-weight: bold; }
    .error { border: 4px solid #d5281b; padding: 8px 16px; margin-bottom: 16px; }
  </style>
</head>
<body>
  <header>${escapeHtml(form.service)}</header>
  <main>
    <h1>Sign in</h1>
    ${error}
    <form method="post" action="${escapeHtml(options.action)}">
      ${hidden}
      ${inputs}
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>`;
}

function inputHtml(input: SignInInput, value: string): string {
  const name = escapeHtml(input.name);
  const attributes = [
    `type="${input.type}"`,
    `id="${name}"`,
    `name="${name}"`,
    ...(input.inputmode ? [`inputmode="${escapeHtml(input.inputmode)}"`] : []),
    ...(input.autocomplete ? [`autocomplete="${escapeHtml(input.autocomplete)}"`] : []),
    ...(value ? [`value="${escapeHtml(value)}"`] : []),
  ];
  const hint = input.hint ? `\n      <span class="hint">${escapeHtml(input.hint)}</span>` : '';
  return `<label for="${name}">${escapeHtml(input.label)}</label>${hint}\n      <input ${attributes.join(' ')}>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
