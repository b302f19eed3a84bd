//! Speaking OpenID Connect to the provider, with the `openidconnect` crate:
//! discovery (cached), the authorization URL (PKCE S256, state, nonce), the
//! code exchange and the ID token's validation (signature with the provider's
//! JWKS, issuer, audience, expiry with the configured clock skew, nonce).

use std::time::{Duration, Instant};

use backline_protocol::ErrorCode;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse,
};
use serde_json::{Map, Value};

use super::http::ProviderHttp;
use crate::config::OidcConfig;
use crate::error::{err, Result, ServiceError};

/// How long discovery (and the provider's keys) are reused before being read again.
const METADATA_TTL: Duration = Duration::from_secs(300);

/// A sign-in leaving for the provider: where to send the browser, and what
/// the callback needs to finish it.
pub(crate) struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The provider, as this node knows it.
pub(crate) struct Provider {
    config: OidcConfig,
    http: ProviderHttp,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

fn provider_error(message: String) -> ServiceError {
    err(ErrorCode::SsoProviderError, message)
}

impl Provider {
    pub(crate) fn new(config: OidcConfig) -> anyhow::Result<Provider> {
        Ok(Provider {
            config,
            http: ProviderHttp::new()?,
            metadata: tokio::sync::Mutex::new(None),
        })
    }

    pub(crate) fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The provider's discovery document and keys; read again when older
    /// than [`METADATA_TTL`] or when `fresh` (the keys may have rotated).
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, metadata)) = cached.as_ref() {
            if !fresh && at.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| provider_error(format!("oidc.issuer is not a URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                provider_error(format!(
                    "cannot read the identity provider's discovery document at {}: {}",
                    self.config.issuer,
                    error_chain(&e)
                ))
            })?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    async fn client(&self, fresh: bool) -> Result<ClientWithUris> {
        let metadata = self.metadata(fresh).await?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| provider_error(format!("the redirect URL is not a URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL for a new sign-in.
    pub(crate) async fn authorize(&self) -> Result<Authorization> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = crate::auth::new_token();
        let nonce = crate::auth::new_token();
        let mut request = {
            let state = state.clone();
            let nonce = nonce.clone();
            client.authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
        };
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier), validates the ID token,
    /// and returns its claims.
    pub(crate) async fn redeem(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>> {
        let client = self.client(false).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| provider_error(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(answer) => {
                    provider_error(format!("the identity provider refused the code: {answer}"))
                }
                other => provider_error(format!(
                    "the code exchange with the identity provider failed: {}",
                    error_chain(&other)
                )),
            })?;
        let id_token = response.id_token().ok_or_else(|| {
            provider_error("the identity provider's token response has no ID token".into())
        })?;
        let nonce = Nonce::new(nonce.to_owned());
        let verified = match self.verify(&client, id_token, &nonce) {
            // The provider may have rotated its keys since discovery: read them again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.client(true).await?;
                self.verify(&fresh, id_token, &nonce)
            }
            other => other,
        };
        verified.map_err(token_refusal)?;
        // The token is verified: read all of its claims for the rules.
        let payload = id_token
            .to_string()
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
            .ok_or_else(|| {
                err(
                    ErrorCode::SsoTokenInvalid,
                    "the ID token's claims are not a JSON object",
                )
            })?;
        Ok(payload)
    }

    fn verify(
        &self,
        client: &ClientWithUris,
        id_token: &openidconnect::core::CoreIdToken,
        nonce: &Nonce,
    ) -> std::result::Result<(), ClaimsVerificationError> {
        let skew = chrono::Duration::seconds(self.config.clock_skew_secs as i64);
        let verifier = client
            .id_token_verifier()
            // Accepts a token up to `skew` after its expiry…
            .set_time_fn(move || chrono::Utc::now() - skew)
            // …and issued up to `skew` in the future.
            .set_issue_time_verifier_fn(move |issued| {
                if issued > chrono::Utc::now() + skew {
                    Err(format!("issued in the future ({issued})"))
                } else {
                    Ok(())
                }
            });
        id_token.claims(&verifier, nonce).map(|_| ())
    }
}

type ClientWithUris = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Which check an ID token failed, in words an administrator can act on.
fn token_refusal(error: ClaimsVerificationError) -> ServiceError {
    let message = match &error {
        ClaimsVerificationError::Expired(detail) => format!(
            "the ID token has expired or is not yet valid ({detail}); the provider's clock \
             may be off by more than oidc.clock_skew_secs"
        ),
        ClaimsVerificationError::InvalidAudience(detail) => {
            format!("the ID token was issued for another client (audience): {detail}")
        }
        ClaimsVerificationError::InvalidIssuer(detail) => {
            format!("the ID token comes from another issuer: {detail}")
        }
        ClaimsVerificationError::InvalidNonce(detail) => {
            format!("the ID token's nonce is not this sign-in's: {detail}")
        }
        ClaimsVerificationError::SignatureVerification(detail) => format!(
            "the ID token's signature does not verify against the provider's keys: {detail}"
        ),
        other => format!("the ID token is not valid: {other}"),
    };
    err(ErrorCode::SsoTokenInvalid, message)
}

/// An error and its causes, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
