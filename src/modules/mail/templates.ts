// The mails AllIN sends, as plain text. Links carry their token in the URL fragment (#token=…), which
// browsers never send to a server, so tokens stay out of access logs and proxies.
export interface Mail {
  template: string;
  subject: string;
  text: string;
  /** An HTML alternative (a report): the text stays for clients that show text only. */
  html?: string;
  attachments?: MailAttachment[];
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

const sign = '\n\n— AllIN';

export const templates = {
  verifySsoDomain: (domain: string, workspace: string, link: string): Mail => ({
    template: 'verify_sso_domain',
    subject: `Confirm that ${workspace} may use ${domain} for single sign-on in AllIN`,
    text: `Hello,\n\nThe AllIN workspace "${workspace}" asks to verify that it owns the domain ${domain}, so that people with ${domain} addresses sign in to it through its identity provider.\n\nIf you administer ${domain} and agree, confirm here:\n\n${link}\n\nThe link works once and expires in 24 hours. If you do not know this workspace, ignore this mail: nothing changes without the link.${sign}`,
  }),
  verifyEmail: (name: string, link: string): Mail => ({
    template: 'verify_email',
    subject: 'Confirm your email address for AllIN',
    text: `Hello ${name},\n\nConfirm your email address to finish creating your AllIN account:\n\n${link}\n\nThe link works once and expires in 24 hours. If you did not sign up, ignore this mail.${sign}`,
  }),
  alreadyRegistered: (name: string, signInLink: string, resetLink: string): Mail => ({
    template: 'already_registered',
    subject: 'Someone tried to sign up to AllIN with your email',
    text: `Hello ${name},\n\nSomeone (perhaps you) tried to create an AllIN account with this email address, which already has one.\n\nSign in: ${signInLink}\nForgot your password? ${resetLink}\n\nIf this was not you, nothing has changed and you can ignore this mail.${sign}`,
  }),
  resetPassword: (name: string, link: string): Mail => ({
    template: 'reset_password',
    subject: 'Reset your AllIN password',
    text: `Hello ${name},\n\nChoose a new password for your AllIN account:\n\n${link}\n\nThe link works once and expires in 1 hour. If you did not ask for this, ignore this mail: your password has not changed.${sign}`,
  }),
  passwordChanged: (name: string): Mail => ({
    template: 'password_changed',
    subject: 'Your AllIN password was changed',
    text: `Hello ${name},\n\nThe password of your AllIN account was just changed, and your other sessions were signed out. If this was not you, reset your password at once and contact your workspace owner.${sign}`,
  }),
  accountNeedsReconnect: (name: string, provider: string, username: string, link: string): Mail => ({
    template: 'account_needs_reconnect',
    subject: `Reconnect ${username} on ${provider} in AllIN`,
    text: `Hello ${name},\n\n${provider} no longer accepts AllIN's access to ${username}, so nothing can be published to it until it is reconnected: posts due for it meanwhile fail, and are kept, so you can retry them after reconnecting.\n\nReconnect it here: ${link}${sign}`,
  }),
  postProblem: (name: string, state: 'failed' | 'unknown', provider: string, username: string, excerpt: string, reason: string, link: string): Mail => ({
    template: state === 'failed' ? 'post_failed' : 'post_unknown',
    subject: state === 'failed' ? `Your post to ${provider} (${username}) was not published` : `Check whether your post to ${provider} (${username}) went out`,
    text: `Hello ${name},\n\n${state === 'failed'
      ? `AllIN could not publish your post to ${username} on ${provider}:`
      : `AllIN sent your post to ${username} on ${provider}, but cannot tell whether ${provider} published it:`}\n\n  "${excerpt}"\n\nWhy: ${reason}\n\n${state === 'failed'
      ? 'It is kept; fix what the reason says and retry it here'
      : 'Look at the account on the network before retrying, so it does not go out twice. The post'}: ${link}${sign}`,
  }),
  invitation: (workspace: string, inviter: string, role: string, link: string): Mail => ({
    template: 'invitation',
    subject: `${inviter} invited you to ${workspace} on AllIN`,
    text: `Hello,\n\n${inviter} invited you to join the workspace "${workspace}" on AllIN as ${role}.\n\nAccept the invitation: ${link}\n\nThe invitation expires in 7 days.${sign}`,
  }),
  analyticsReport: (workspace: string, cadence: 'weekly' | 'monthly', from: string, to: string, timeZone: string, html: string, pdf: { filename: string; content: Buffer }): Mail => ({
    template: 'analytics_report',
    subject: `${workspace}: ${cadence} analytics report, ${from} to ${to}`,
    text: `Hello,\n\nHere is the ${cadence} analytics report of the workspace "${workspace}" for ${from} to ${to} (days in ${timeZone}). It is in this mail as a page and attached as a PDF.\n\nYou get it because a member of the workspace put this address on its scheduled reports; they can remove it there.${sign}`,
    html,
    attachments: [{ filename: pdf.filename, contentType: 'application/pdf', content: pdf.content }],
  }),
};
