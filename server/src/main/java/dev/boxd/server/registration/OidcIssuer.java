package dev.boxd.server.registration;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One OpenID Connect issuer as a relying party sees it (any issuer with discovery): where to send
 * the browser, and what a returned authorization code proves. The issuer's metadata is fetched at
 * first use and kept, so a server starts while the issuer is unreachable and tries again on the
 * next sign-in.
 */
public final class OidcIssuer {
  private static final int TIMEOUT_MILLIS = 10_000;

  private final Issuer issuer;
  private final ClientID clientId;
  private final Secret secret;
  private volatile Discovered discovered;

  private record Discovered(OIDCProviderMetadata metadata, IDTokenValidator validator) {}

  /** Who signed in: the subject as the issuer names it, and a name to offer for a new account. */
  public record SignedIn(String issuer, String subject, String suggestedName) {}

  /** The issuer refused, or what it returned proves nothing: nothing may be linked. */
  public static final class Refused extends Exception {
    Refused(String message) {
      super(message);
    }
  }

  public OidcIssuer(URI issuer, String clientId, String secret) {
    this.issuer = new Issuer(issuer);
    this.clientId = new ClientID(clientId);
    this.secret = new Secret(secret);
  }

  public String issuer() {
    return issuer.getValue();
  }

  /** The issuer's authorization endpoint for one sign-in: code flow, PKCE S256, {@code state} and {@code nonce}. */
  URI authorizationUrl(URI redirect, State state, Nonce nonce, CodeVerifier verifier) throws Refused {
    OIDCProviderMetadata metadata = discover().metadata();
    return new AuthenticationRequest.Builder(ResponseType.CODE, new Scope("openid", "profile", "email"), clientId, redirect)
        .endpointURI(metadata.getAuthorizationEndpointURI())
        .state(state)
        .nonce(nonce)
        .codeChallenge(verifier, CodeChallengeMethod.S256)
        .build()
        .toURI();
  }

  /**
   * Exchanges {@code code} at the token endpoint and validates the ID token it returns: its
   * signature by a key of the issuer's JWKS, issuer, audience (this client), expiry and nonce.
   */
  SignedIn signIn(String code, URI redirect, CodeVerifier verifier, Nonce nonce) throws Refused {
    Discovered issuerNow = discover();
    OIDCProviderMetadata metadata = issuerNow.metadata();
    TokenRequest request = new TokenRequest(metadata.getTokenEndpointURI(), clientAuthentication(metadata),
        new AuthorizationCodeGrant(new AuthorizationCode(code), redirect, verifier));
    TokenResponse response;
    try {
      HTTPRequest http = request.toHTTPRequest();
      http.setConnectTimeout(TIMEOUT_MILLIS);
      http.setReadTimeout(TIMEOUT_MILLIS);
      response = OIDCTokenResponseParser.parse(http.send());
    } catch (IOException e) {
      throw new Refused("cannot reach the token endpoint of " + issuer() + ": " + e.getMessage());
    } catch (com.nimbusds.oauth2.sdk.ParseException e) {
      throw new Refused("the token endpoint of " + issuer() + " answered something that is not a token response: " + e.getMessage());
    }
    if (!response.indicatesSuccess()) {
      var error = response.toErrorResponse().getErrorObject();
      throw new Refused("the token endpoint of " + issuer() + " refused the sign-in: " + error.getCode()
          + (error.getDescription() == null ? "" : " (" + error.getDescription() + ")"));
    }
    if (!(response.toSuccessResponse() instanceof OIDCTokenResponse tokens) || tokens.getOIDCTokens().getIDToken() == null) {
      throw new Refused("the token endpoint of " + issuer() + " returned no ID token: is the client set up for OpenID Connect?");
    }
    JWT idToken = tokens.getOIDCTokens().getIDToken();
    IDTokenClaimsSet claims;
    try {
      claims = issuerNow.validator().validate(idToken, nonce);
    } catch (BadJOSEException | com.nimbusds.jose.JOSEException e) {
      throw new Refused("the ID token from " + issuer() + " is not valid: " + e.getMessage());
    }
    return new SignedIn(claims.getIssuer().getValue(), claims.getSubject().getValue(), suggestedName(claims));
  }

  private static String suggestedName(IDTokenClaimsSet claims) {
    for (String claim : List.of("preferred_username", "nickname", "email", "name")) {
      Object value = claims.getClaim(claim);
      if (value instanceof String text && !text.isBlank()) {
        return claim.equals("email") && text.contains("@") ? text.substring(0, text.indexOf('@')) : text;
      }
    }
    return "user";
  }

  private ClientAuthentication clientAuthentication(OIDCProviderMetadata metadata) {
    List<ClientAuthenticationMethod> methods = metadata.getTokenEndpointAuthMethods();
    boolean postOnly = methods != null && !methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
        && methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_POST);
    return postOnly ? new ClientSecretPost(clientId, secret) : new ClientSecretBasic(clientId, secret);
  }

  private Discovered discover() throws Refused {
    Discovered known = discovered;
    if (known != null) {
      return known;
    }
    synchronized (this) {
      if (discovered == null) {
        discovered = fetch();
      }
      return discovered;
    }
  }

  private Discovered fetch() throws Refused {
    OIDCProviderMetadata metadata;
    try {
      metadata = OIDCProviderMetadata.resolve(issuer, TIMEOUT_MILLIS, TIMEOUT_MILLIS);
    } catch (IOException | GeneralException e) {
      throw new Refused("cannot read the OpenID configuration of " + issuer() + " (" + issuer() + "/.well-known/openid-configuration): "
          + e.getMessage());
    }
    if (metadata.getJWKSetURI() == null || metadata.getTokenEndpointURI() == null) {
      throw new Refused("the OpenID configuration of " + issuer() + " names no jwks_uri or no token_endpoint");
    }
    // The algorithms the issuer says it signs ID tokens with, asymmetric ones only: an ID token
    // must be signed by a key of the issuer's JWKS, never MACed or unsigned.
    Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
    for (JWSAlgorithm algorithm : metadata.getIDTokenJWSAlgs() == null ? List.<JWSAlgorithm>of() : metadata.getIDTokenJWSAlgs()) {
      if (JWSAlgorithm.Family.SIGNATURE.contains(algorithm)) {
        algorithms.add(algorithm);
      }
    }
    if (algorithms.isEmpty()) {
      algorithms.add(JWSAlgorithm.RS256); // what OpenID Connect requires every issuer to support
    }
    JWKSource<SecurityContext> keys;
    try {
      keys = JWKSourceBuilder.create(metadata.getJWKSetURI().toURL()).build();
    } catch (java.net.MalformedURLException e) {
      throw new Refused("the jwks_uri of " + issuer() + " is not a URL: " + metadata.getJWKSetURI());
    }
    var validator = new IDTokenValidator(issuer, clientId, new JWSVerificationKeySelector<>(algorithms, keys), null);
    return new Discovered(metadata, validator);
  }
}
