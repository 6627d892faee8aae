/** Errors as the user sees them. No `vscode` import. */

/** An error whose message is written for the user: shown as is, without a stack in the log. */
export class UserFacingError extends Error {
  override readonly name = 'UserFacingError';
  constructor(
    message: string,
    /** A settings search to offer with an "Open Settings" button. */
    readonly setting?: string,
  ) {
    super(message);
  }
}

export { errorMessage } from '../core/errors';
