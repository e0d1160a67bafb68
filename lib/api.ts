import { CfnOutput, Duration, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { Construct } from "constructs";
import { type RouteDefinition, openapiRoute, routeEntry, routes } from "../functions/api/routes.js";
import { type FunctionFactory, type ServiceFunction, toPascalCase } from "./functions.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

export interface ApiProps {
  /** OIDC issuer of the access tokens (the `iss` claim), e.g. an Entra ID or Cognito issuer URL. */
  readonly jwtIssuer: string;
  /** Accepted `aud` values (or `client_id` for Cognito access tokens). */
  readonly jwtAudience: readonly string[];
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly observability: Observability;
}

const METHODS: Record<RouteDefinition["method"], HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
};

/** Writes through these scopes; every other route only reads. */
const WRITE_SCOPES: ReadonlySet<RouteDefinition["scope"]> = new Set(["challenges/write", "config/write"]);

export interface ApiRoute {
  readonly route: RouteDefinition;
  readonly handler: ServiceFunction;
}

/**
 * The HTTP API: one Lambda per route of functions/api/routes.ts, every route behind the JWT
 * authorizer with the route's OAuth scope (but the signed acknowledgement link's two), access logs
 * without personal data.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly routes: readonly ApiRoute[];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    this.httpApi = new HttpApi(this, "HttpApi", {
      description:
        "Challenge & Resolution Service API (case-record systems and people, OAuth 2.0 bearer tokens)",
      createDefaultStage: false,
    });

    // The route key (a template) is logged, never the path: paths carry case-record ids.
    const accessLogs = props.observability.logGroup(this, "AccessLogs");
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      detailedMetricsEnabled: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTime",
            ip: "$context.identity.sourceIp",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            responseLatency: "$context.responseLatency",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
            client: "$context.authorizer.claims.client_id",
          }),
        ),
      },
    });

    const authorizer = new HttpJwtAuthorizer("JwtAuthorizer", props.jwtIssuer, {
      authorizerName: "jwt",
      jwtAudience: [...props.jwtAudience],
      identitySource: ["$request.header.Authorization"],
    });

    this.routes = routes.map((route) => {
      const name = toPascalCase(route.id);
      const handler = props.functions.create(this, name, {
        entry: routeEntry(route),
        description: `${route.method} ${route.path}: ${route.summary}`,
        invokedBy: "api",
        memorySize: 512,
        // API Gateway gives up after 30 seconds; a handler should answer well within it.
        timeout: Duration.seconds(10),
        // The OpenAPI handler is its (gzipped) document and a role check: no stack worth mapping,
        // and reading a map was a third of its cold start.
        sourceMaps: route.id !== openapiRoute.id,
      });
      if (WRITE_SCOPES.has(route.scope)) props.store.grantReadWrite(handler);
      else props.store.grantRead(handler);

      const httpRoute = new HttpRoute(this, `${name}Route`, {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, METHODS[route.method]),
        integration: new HttpLambdaIntegration(`${name}Integration`, handler.fn),
        // A signed-link route has no authorizer: the recipient opens it from an email without logging in.
        ...(route.signedLink === true
          ? { authorizer: new HttpNoneAuthorizer() }
          : { authorizer, authorizationScopes: [route.scope] }),
      });
      if (route.signedLink === true) {
        Validations.of(httpRoute).acknowledge({
          id: "AwsSolutions-APIG4",
          reason:
            "The acknowledgement link in a notification email must work without a login; its path carries a signed (HMAC), expiring token bound to one recipient and one stage visit, which the handler verifies before reading anything (functions/mail/ack-link.ts). GET records nothing; POST acknowledges only as that recipient.",
        });
      }
      return { route, handler };
    });

    props.observability.watchApi(
      this,
      this.httpApi.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
    );
    new CfnOutput(this, "Url", { description: "API base URL", value: this.httpApi.apiEndpoint });
  }
}
