// The one answer for a workspace the caller may not see: absent and not-a-member look the same, so
// membership cannot be probed. In a file of its own so the gate (access.ts), the service and
// holdWorkspace share it without importing one another.
import { NotFound } from '../../domain/errors.ts';

export const workspaceNotFound = () => new NotFound('NOT_FOUND', 'This workspace does not exist, or you are not a member of it.');
