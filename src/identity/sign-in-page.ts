// The staff sign-in page of the CIS2-shaped provider: plain HTML that works without scripts,
// styled after the NHS.UK design system's form pattern.

export type SignInPageFields = Record<'client_id' | 'redirect_uri' | 'scope' | 'state' | 'nonce' | 'code_challenge' | 'code_challenge_method', string>;

export function signInPage(fields: SignInPageFields, options: { action: string; error?: string; userId?: string }): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  const error = options.error ? `<div class="error" role="alert"><h2>There is a problem</h2><p>${escapeHtml(options.error)}</p></div>` : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in - OpenSpine Care Identity Service</title>
  <style>
    body { font-family: Arial, sans-serif; margin: 0; color: #212b32; background: #f0f4f5; }
    header { background: #005eb8; color: #fff; padding: 16px 24px; font-weight: bold; font-size: 19px; }
    main { max-width: 480px; margin: 32px auto; background: #fff; padding: 24px 32px; }
    label { display: block; font-weight: bold; margin: 16px 0 4px; }
    input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: 8px; font-size: 19px; border: 2px solid #4c6272; }
    .hint { color: #4c6272; font-size: 16px; }
    button { margin-top: 24px; background: #007f3b; color: #fff; border: 0; padding: 12px 16px; font-size: 19px; font-weight: bold; }
    .error { border: 4px solid #d5281b; padding: 8px 16px; margin-bottom: 16px; }
  </style>
</head>
<body>
  <header>OpenSpine Care Identity Service</header>
  <main>
    <h1>Sign in</h1>
    ${error}
    <form method="post" action="${escapeHtml(options.action)}">
      ${hidden}
      <label for="user_id">User ID</label>
      <span class="hint">Your 12-digit NHS user ID</span>
      <input type="text" id="user_id" name="user_id" inputmode="numeric" autocomplete="username" value="${escapeHtml(options.userId ?? '')}">
      <label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password">
      <label for="role_profile_id">Role profile (optional)</label>
      <span class="hint">Leave empty to use your first role</span>
      <input type="text" id="role_profile_id" name="role_profile_id" inputmode="numeric">
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
