// The shapes the API answers with (see /api/v1/openapi.json).

export type SiteStatus = 'draft' | 'generating' | 'active';
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';
export type DeploymentStatus = 'queued' | 'delivered' | 'applied' | 'failed' | 'refused';

/// WordPress as the site's agent last reported it.
export interface SiteInventory {
  wordpress_version: string;
  php_version: string;
  site_url: string;
  connector_version?: string;
  active_theme?: string;
  themes?: { slug: string; name?: string; version?: string; active?: boolean }[];
  plugins?: { file: string; slug?: string; name?: string; version?: string; active?: boolean }[];
  /// Sequences whose snapshot the agent keeps, oldest first (agents that say).
  snapshots?: number[] | null;
}

/// Deployed content changed in WordPress since it was deployed, as the agent last reported.
export interface SiteDrift {
  checked: number;
  drifted: { key: string; post_id?: number | null; state: string; modified_at?: string | null }[];
  total_drifted?: number;
}

export interface Site {
  id: string;
  name: string;
  domain: string | null;
  wp_admin_url: string | null;
  status: SiteStatus;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  /// Absent from a control plane older than the agent's reports.
  inventory?: SiteInventory | null;
  inventory_at?: string | null;
  drift?: SiteDrift | null;
  drift_at?: string | null;
}

export interface AgentSummary {
  id: string;
  online: boolean;
  last_seen: string | null;
  hostname: string;
  agent_version: string;
  last_applied: number;
}

export interface Agent extends AgentSummary {
  site_id: string;
  enrolled_at: string;
}

export interface LastDeployment {
  id: string;
  sequence: number;
  status: DeploymentStatus;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface FleetRow {
  site: Site;
  tags: string[];
  agent: AgentSummary | null;
  last_deployment: LastDeployment | null;
}

export interface FleetPage {
  sites: FleetRow[];
  next_after: string | null;
  total: number;
}

export interface TagCount {
  tag: string;
  sites: number;
}

export interface Job {
  id: string;
  site_id: string;
  kind: 'generation' | 'deployment';
  status: JobStatus;
  progress: number;
  logs: string;
  created_at: string;
  updated_at: string;
  stage: string | null;
  error: string | null;
}

export interface JobEvent {
  job_id: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
  message: string;
}

export interface JobAccepted {
  job_id: string;
  site_id: string;
  status: 'queued';
}

export interface Brief {
  business_name: string;
  type: string;
  description: string;
  goals: string[];
}

export interface Palette {
  base: string;
  contrast: string;
  primary: string;
  on_primary: string;
  secondary: string;
  accent: string;
}

export interface Design {
  theme: string;
  style: string;
  palette: Palette;
  fonts: { heading: string; body: string };
}

export type SectionKind = 'hero' | 'text' | 'features' | 'steps' | 'faq' | 'call_to_action' | 'contact';

export interface Item {
  title: string;
  text: string;
}

export interface Section {
  kind: SectionKind;
  heading: string;
  paragraphs: string[];
  items: Item[];
  link: { label: string; slug: string } | null;
}

export interface DraftPage {
  slug: string;
  title: string;
  parent: string | null;
  path: string;
  seo_title: string;
  meta_description: string;
  blocks: string;
  content: { seo_title: string; meta_description: string; sections: Section[] };
  variant: number;
}

export interface PagePlan {
  slug: string;
  title: string;
  parent: string | null;
  purpose: string;
  sections: { kind: SectionKind; intent: string }[];
}

export interface PluginChoice {
  slug: string;
  name: string;
  category: string;
  reason: string;
  settings: Record<string, unknown>;
}

export interface Draft {
  site_id: string;
  job_id: string | null;
  updated_at: string;
  brief: Brief;
  sitemap: { pages: PagePlan[]; navigation: string[] };
  design: Design;
  pages: DraftPage[];
  plugins: { plugins: PluginChoice[] };
  failed_pages: { slug: string; reason: string }[];
}

export interface ItemResult {
  path?: string;
  kind?: string;
  status?: string;
  ok?: boolean;
  error?: string | null;
  message?: string | null;
  [key: string]: unknown;
}

export interface Deployment {
  id: string;
  site_id: string;
  sequence: number;
  status: DeploymentStatus;
  items: { kind: string; path: string; size?: number; sha256?: string }[];
  expires_at: string | null;
  results: ItemResult[] | null;
  error_code: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  /// For a rollback, the deployment it undoes.
  rollback_of?: string | null;
}

export interface EnrollmentToken {
  token: string;
  expires_at: string;
  command: string;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
}

export interface Billing {
  plan: {
    id: string;
    name: string;
    status: string;
    price_cents: number | null;
    limits: { sites: number | null; generations: number | null; deployments: number | null; tokens: number | null };
  };
  period_start: string;
  period_end: string;
  usage: { sites: number; generations: number; deployments: number; tokens: Usage };
  payments_enabled: boolean;
}

export interface PageEdit {
  title?: string;
  seo_title?: string;
  meta_description?: string;
  sections?: { index: number; heading?: string; paragraphs?: string[]; items?: Item[]; link_label?: string }[];
}
