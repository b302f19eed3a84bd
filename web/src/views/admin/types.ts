import type { AdminModel, AdminState } from '../../models/admin';

/** What a section of the console may ask of the model. */
export type AdminActions = Pick<
  AdminModel,
  | 'load'
  | 'show'
  | 'dismissMessages'
  | 'selectUser'
  | 'createUser'
  | 'updateUser'
  | 'resetPassword'
  | 'setDisabled'
  | 'selectGroup'
  | 'createGroup'
  | 'updateGroup'
  | 'setGroupRole'
  | 'createReason'
  | 'createIntegration'
  | 'rotate'
  | 'dismissSecret'
  | 'showDeliveries'
  | 'closeDeliveries'
  | 'loadDeliveries'
  | 'redeliver'
  | 'runRetention'
  | 'placeHold'
  | 'liftHold'
  | 'exportContact'
  | 'eraseContact'
  | 'redactMessage'
  | 'setAuditFilters'
  | 'searchAudit'
  | 'resetAuditFilters'
>;

export interface SectionProps {
  state: AdminState;
  actions: AdminActions;
}
