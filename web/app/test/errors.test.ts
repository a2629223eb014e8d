import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api.js';
import { errorText } from '../src/app.js';
import { setLang, t } from '../src/i18n.js';

describe('errorText', () => {
  it('gives every refusal a voter can meet its own message in both languages, never the generic one', () => {
    const codes = [
      'network', 'invalid_credentials', 'right_already_issued', 'signature_used', 'election_closed', 'election_not_open',
      'unauthorized', 'rate_limited', 'unavailable', 'invalid_ballot', 'invalid_signature', 'prepared_message_mismatch',
      'wrong_ballot_style', 'wrong_modality', 'ciphertext_reused',
    ];
    for (const lang of ['es', 'en'] as const) {
      setLang(lang);
      const generic = t('errOther', { detail: '' });
      for (const code of codes) {
        const text = errorText(new ApiError(403, code, 'detail from the service'));
        expect(text.startsWith(generic), `${lang} ${code}: ${text}`).toBe(false);
      }
    }
  });

  it('names an unknown refusal with its code', () => {
    setLang('en');
    expect(errorText(new ApiError(418, 'teapot', 'short and stout'))).toBe('Something went wrong: teapot: short and stout');
  });
});
