// The shapes the API answers with, under the names the screens use. They are
// aliases of the types generated from the control plane's OpenAPI document
// (`web/openapi.json` → `schema.d.ts`, by `npm run gen:api`): change the Rust
// side, refresh the snapshot, regenerate; do not write API shapes here.

import type { components } from './schema';

type Schemas = components['schemas'];

// Sites and the fleet table.
export type Site = Schemas['SiteView'];
/// WordPress as the site's agent last reported it.
export type SiteInventory = Schemas['Inventory'];
/// Deployed content changed in WordPress since it was deployed, as the agent last reported.
export type SiteDrift = Schemas['Drift'];
export type SiteStatus = Site['status'];
export type Agent = Schemas['AgentView'];
export type AgentSummary = Schemas['FleetAgentView'];
export type LastDeployment = Schemas['LastDeploymentView'];
export type FleetRow = Schemas['FleetSiteView'];
export type FleetPage = Schemas['FleetPage'];
export type TagCount = Schemas['TagView'];
export type TagList = Schemas['TagList'];
export type EnrollmentToken = Schemas['EnrollmentTokenView'];
/// How a site talks to the control plane: the agent on a server, or the connector plugin alone.
export type Connection = Agent['connection'];
/// What `POST /wordpress/validate` found at a WordPress address.
export type WordPressReport = Schemas['SiteReport'];
export type WordPressCredentials = Schemas['WordPressCredentials'];

// Jobs.
export type Job = Schemas['JobView'];
export type JobStatus = Job['status'];
export type JobAccepted = Schemas['JobAccepted'];
export type JobList = Schemas['JobList'];

// The draft a generation writes, and edits to it.
export type Brief = Schemas['Brief'];
export type Palette = Schemas['Palette'];
export type Design = Schemas['Design'];
export type SectionKind = Schemas['SectionKind'];
export type Item = Schemas['Item'];
export type Section = Schemas['Section'];
export type DraftPage = Schemas['DraftPage'];
export type PagePlan = Schemas['PagePlan'];
export type PluginChoice = Schemas['PluginChoice'];
export type Draft = Schemas['DraftView'];
export type PageEdit = Schemas['PageEdit'];
export type EditedPage = Schemas['EditedPage'];

// Deployments.
export type Deployment = Schemas['DeploymentView'];
export type DeploymentStatus = Deployment['status'];
export type DeploymentList = Schemas['DeploymentList'];
export type ItemResult = Schemas['ItemResult'];

// Accounts and billing.
/// The tokens `/auth/login` and `/auth/refresh` answer with.
export type TokenPair = Schemas['Session'];
/// What `/auth/register` answers, the same for a new address and a known one.
export type Registration = Schemas['Registration'];
export type Usage = Schemas['UsageView'];
export type Billing = Schemas['BillingView'];

/// The `error` of every error body; `field` names the field a validation error is about.
export type ErrorDetail = Schemas['ErrorDetail'];

/// One event of a job's WebSocket (`GET /jobs/{id}/events`). Not in the
/// document: OpenAPI describes the upgrade, not the messages that follow.
export interface JobEvent {
  job_id: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
  message: string;
}
