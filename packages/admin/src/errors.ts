import { SluiceError } from '@sluice/core';

/** An error the admin API answers with: its HTTP status, a stable code and a message, as `{"error":{code,message}}`. */
export function adminError(status: number, code: string, message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError(code, message, { details: { ...details, status } });
}
