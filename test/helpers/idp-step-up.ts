/**
 * Step-up at the test identity provider (research §3.6): `acr_values_supported`, a login Check that asks
 * for a new login when `acr_values` names none of the provider session's acr (oidc-provider treats
 * acr_values as voluntary), and the devInteractions login intercepted so a test decides the `acr` and a
 * backdated `auth_time` of the NEXT login (`setLoginAcr`, `setLoginAge`). The login form is unchanged, so
 * Chromium and BrowserClient sign in exactly as before.
 */
import type Provider from 'oidc-provider';
import type { Configuration, interactionPolicy as InteractionPolicy, KoaContextWithOIDC } from 'oidc-provider';
import type { IdpOptions } from './idp-types.js';

/** The acr values the provider offers: a password, and a password with a second factor. */
export const ACR_PASSWORD = 'urn:example:pwd';
export const ACR_MFA = 'urn:example:mfa';

/** How the provider is set up for step-up (`IdpOptions.stepUp`). */
export interface IdpStepUpOptions {
  /** Registers the clients with `require_auth_time: true`, so every ID token has auth_time (default true). */
  requireAuthTime?: boolean;
}

/** One login the provider completed, as the interception made it. */
export interface IdpLoginRecord {
  accountId: string;
  acr: string;
  /** auth_time, epoch seconds. */
  ts: number;
}

/** The handles tests use (StartedIdp.stepUp). */
export interface IdpStepUp {
  /** The acr of the next login (default urn:example:pwd); reset after that login. */
  setLoginAcr(acr: string): void;
  /** Backdates the auth_time of the next login by `seconds`; reset after that login. */
  setLoginAge(seconds: number): void;
  /** Every login completed through the form, in order. */
  logins: IdpLoginRecord[];
}

/** The configuration changes for `options.stepUp`, and the handles; `attach` plugs the login interception in. */
export function setUpStepUp(configuration: Configuration, options: IdpOptions): IdpStepUp & { attach(provider: Provider): void } {
  const logins: IdpLoginRecord[] = [];
  let nextAcr: string | undefined;
  let nextAge = 0;
  const on = options.stepUp !== undefined;
  if (on) {
    configuration.acrValues = [ACR_PASSWORD, ACR_MFA];
    if (options.stepUp?.requireAuthTime !== false) {
      const registered = new Set(options.clients.map((c) => c.clientId));
      configuration.clients = configuration.clients?.map((c) => (registered.has(c.client_id) ? { ...c, require_auth_time: true } : c));
    }
  }
  return {
    logins,
    setLoginAcr: (acr) => {
      nextAcr = acr;
    },
    setLoginAge: (seconds) => {
      nextAge = seconds;
    },
    attach(provider) {
      if (!on) return;
      provider.use(async (ctx, next) => {
        if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) {
          await next();
          return;
        }
        // The interaction, not the form, says whether this is the login: the consent form goes on untouched.
        const details = await provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
        if (details?.prompt.name !== 'login') {
          await next();
          return;
        }
        const form = new URLSearchParams(await readBody(ctx));
        const record = { accountId: form.get('login') ?? '', acr: nextAcr ?? ACR_PASSWORD, ts: Math.floor(Date.now() / 1000) - nextAge };
        nextAcr = undefined;
        nextAge = 0;
        logins.push(record);
        ctx.respond = false;
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: record.accountId, acr: record.acr, ts: record.ts } }, { mergeWithLastSubmission: false });
      });
    },
  };
}

/**
 * The login Check: re-prompt when acr_values names none of the session's acr, unless a login just happened
 * (as the built-in max_age Check does): a weaker login then goes back to the client, which must refuse it.
 */
export function acrValuesCheck(policy: typeof InteractionPolicy): InstanceType<typeof InteractionPolicy.Check> {
  return new policy.Check('acr_values_unmet', 'a stronger authentication is required', (ctx: KoaContextWithOIDC) => {
    const wanted = ctx.oidc.params?.acr_values;
    if (typeof wanted !== 'string' || ctx.oidc.result?.login) return policy.Check.NO_NEED_TO_PROMPT;
    return wanted.split(' ').includes(ctx.oidc.session?.acr ?? '') ? policy.Check.NO_NEED_TO_PROMPT : policy.Check.REQUEST_PROMPT;
  });
}

async function readBody(ctx: { req: AsyncIterable<unknown> }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
