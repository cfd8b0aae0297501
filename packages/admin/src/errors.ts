import { SluiceError, type SluiceErrorCode } from '@sluice/core';

/** An error the admin API answers with, as `{"error":{code,message}}`; its HTTP status is the code's (`ERROR_CODES`). */
export function adminError(code: SluiceErrorCode, message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError(code, message, Object.keys(details).length > 0 ? { details } : {});
}
