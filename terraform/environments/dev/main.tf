# The experiments platform in one Google Cloud project.
#
# What the code expects, in one place (tests/deploy/test_terraform_matches_code.py checks it):
#   topics          = experiments_platform.events.messages.Topics.ALL
#   subscriptions   = experiments_platform.events.topology.SUBSCRIPTIONS (push paths, ack deadlines, backoff, attempts)
#   publishers      = experiments_platform.events.topology.PUBLISHERS
#   PLATFORM_* env  = fields of experiments_platform.config.Settings

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  apis = [
    "aiplatform.googleapis.com", "artifactregistry.googleapis.com", "bigquery.googleapis.com",
    "cloudbuild.googleapis.com", "cloudscheduler.googleapis.com", "compute.googleapis.com", "dataflow.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com", "iam.googleapis.com", "iap.googleapis.com", "logging.googleapis.com",
    "pubsub.googleapis.com", "run.googleapis.com", "secretmanager.googleapis.com", "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ]

  topics = ["experiment-submit", "experiment-cancel", "cloud-builds", "pipeline-state"]

  subscriptions = {
    "submitter-experiment-submit"      = { topic = "experiment-submit", service = "submitter", push_path = "/pubsub/experiment-submit", ack_deadline_s = 120, max_delivery_attempts = 5, min_backoff_s = 1, max_backoff_s = 60 }
    "status-watcher-cloud-builds"      = { topic = "cloud-builds", service = "status_watcher", push_path = "/pubsub/cloud-builds", ack_deadline_s = 60, max_delivery_attempts = 5, min_backoff_s = 1, max_backoff_s = 60 }
    "status-watcher-pipeline-state"    = { topic = "pipeline-state", service = "status_watcher", push_path = "/pubsub/pipeline-state", ack_deadline_s = 60, max_delivery_attempts = 5, min_backoff_s = 1, max_backoff_s = 60 }
    "status-watcher-experiment-cancel" = { topic = "experiment-cancel", service = "status_watcher", push_path = "/pubsub/experiment-cancel", ack_deadline_s = 60, max_delivery_attempts = 5, min_backoff_s = 1, max_backoff_s = 60 }
  }

  publishers = {
    "experiment-submit" = ["api_gateway", "status_watcher"]
    "experiment-cancel" = ["api_gateway"]
  }

  reconcile_path = "/tasks/reconcile"

  buckets = {
    pipeline-root    = { purpose = "Vertex AI pipeline roots: quick-test intermediate artifacts", delete_age_days = 7 }
    artifacts        = { purpose = "experiment specs, compiled pipelines, metrics and artifact indexes", delete_age_days = 30 }
    staging          = { purpose = "Dataflow staging and temp files, build scratch", delete_age_days = 3 }
    mlflow-artifacts = { purpose = "MLflow run artifacts (kept)", delete_age_days = 0 }
    data             = { purpose = "dataset files (object finalized events refresh or register datasets)", delete_age_days = 0 }
  }

  accounts = {
    "api-gateway" = {
      description = "api_gateway: experiment documents, submit/cancel commands, dataset schemas, uploads"
      # bigquery.jobUser: load jobs of uploaded files and the launch check's count queries (decision 061);
      # bigquery.dataViewer: those queries read the datasets' tables (the uploads dataset: dataEditor below);
      # aiplatform.viewer: a Vertex run's lineage view reads Vertex ML Metadata (adapters/vertex_lineage:
      # aiplatform.contexts.queryContextLineageSubgraph)
      project_roles = ["roles/datastore.user", "roles/bigquery.metadataViewer", "roles/bigquery.jobUser", "roles/bigquery.dataViewer", "roles/aiplatform.viewer"]
    }
    "submitter" = {
      description   = "submitter: reads table schemas, writes the spec, starts the compile build"
      project_roles = ["roles/datastore.user", "roles/bigquery.metadataViewer", "roles/cloudbuild.builds.editor"]
    }
    "status-watcher" = {
      description = "status_watcher: build and pipeline events, cancel, reconcile"
      # aiplatform.user: Get/CancelPipelineJob and List/CancelCustomJob (the Trainer's child job);
      # dataflow.developer: list and cancel the experiment's Dataflow jobs (issue 13 item 6)
      project_roles = ["roles/datastore.user", "roles/cloudbuild.builds.editor", "roles/aiplatform.user", "roles/dataflow.developer"]
    }
    "artifact-reader" = {
      description   = "artifact_reader: metrics, component logs, artifacts, data insights through tfdv_parser"
      project_roles = ["roles/datastore.viewer", "roles/logging.viewer", "roles/aiplatform.viewer"] # GetPipelineJob for component logs
    }
    "tfdv-parser" = {
      description   = "tfdv_parser: reads statistics and schema artifacts"
      project_roles = []
    }
    "compile-build" = {
      description   = "Cloud Build compile-and-submit step"
      project_roles = ["roles/aiplatform.user", "roles/logging.logWriter"]
    }
    "pipeline-runner" = {
      description = "Vertex AI pipeline jobs and their Dataflow workers"
      # bigquery.user: query jobs and the temporary dataset Beam's BigQuery read creates (bigquery.datasets.create)
      project_roles = ["roles/aiplatform.user", "roles/bigquery.dataViewer", "roles/bigquery.user", "roles/logging.logWriter", "roles/dataflow.worker", "roles/dataflow.developer"]
    }
    "mlflow-server" = {
      description   = "MLflow tracking server"
      project_roles = []
    }
    "pubsub-push" = {
      description   = "OIDC identity of Pub/Sub push deliveries"
      project_roles = []
    }
    "reconcile-scheduler" = {
      description   = "OIDC identity of the reconcile sweep"
      project_roles = []
    }
    "eventarc-trigger" = {
      description   = "OIDC identity of the data-source Eventarc triggers (eventReceiver granted by modules/data_events)"
      project_roles = []
    }
  }

  service_account_of = {
    api_gateway     = "api-gateway"
    submitter       = "submitter"
    status_watcher  = "status-watcher"
    artifact_reader = "artifact-reader"
    tfdv_parser     = "tfdv-parser"
  }

  # Known before the services exist, so a service's own env can name it: the audience of the OIDC tokens
  # Pub/Sub and Cloud Scheduler mint for it (a custom audience of the service, module "services").
  run_url = { for service in keys(local.service_account_of) : service => "https://${replace(service, "_", "-")}-${data.google_project.this.number}.${var.region}.run.app" }
  # aud of the x-goog-iap-jwt-assertion IAP signs for a Cloud Run service it fronts directly.
  iap_audience   = "/projects/${data.google_project.this.number}/locations/${var.region}/services/${replace("api_gateway", "_", "-")}"
  uploads_prefix = "uploads" # uploaded dataset files: gs://PROJECT-data/uploads/<dataset id>/<file>
  images         = "${var.region}-docker.pkg.dev/${var.project_id}/experiments-platform"

  common_env = {
    PLATFORM_GCP_PROJECT         = var.project_id
    PLATFORM_GCP_REGION          = var.region
    PLATFORM_DOCUMENT_STORE      = "firestore"
    PLATFORM_EVENT_BUS           = "pubsub"
    PLATFORM_BLOB_STORE          = "gcs"
    PLATFORM_WAREHOUSE           = "bigquery"
    PLATFORM_BUILD_SERVICE       = "cloudbuild"
    PLATFORM_PIPELINE_SERVICE    = "vertex"
    PLATFORM_LOG_STORE           = "cloudlogging"
    PLATFORM_ARTIFACTS_URI       = "gs://${module.storage.names["artifacts"]}"
    PLATFORM_PIPELINE_ROOT       = "gs://${module.storage.names["pipeline-root"]}"
    PLATFORM_MLFLOW_TRACKING_URI = module.mlflow.url
    # One admission limit for the gateway (queue), the submitter (admit) and the status watcher (admit next)
    PLATFORM_MAX_CONCURRENT_RUNS = tostring(var.max_concurrent_runs)
    # Every service's warehouse allows the same tables: the sources and the uploads dataset
    PLATFORM_BIGQUERY_SOURCES         = join(",", concat([var.project_id], var.bigquery_sources))
    PLATFORM_BIGQUERY_UPLOADS_DATASET = "${var.project_id}.${google_bigquery_dataset.uploads.dataset_id}"
  }

  build_env = {
    PLATFORM_COMPILER_IMAGE           = "${local.images}/tfx-compiler:${var.image_tag}"
    PLATFORM_PIPELINE_IMAGE           = "${local.images}/tfx-pipeline:${var.image_tag}"
    PLATFORM_STAGING_URI              = "gs://${module.storage.names["staging"]}"
    PLATFORM_PIPELINE_SERVICE_ACCOUNT = module.identities.emails["pipeline-runner"]
    PLATFORM_BUILD_SERVICE_ACCOUNT    = module.identities.emails["compile-build"]
  }

  # Only Pub/Sub and Cloud Scheduler call submitter and status watcher: both count as internal
  # traffic of the project, so those two refuse everything from outside Google's network.
  # timeout_s: at most the ack deadline of the service's push subscriptions (events/topology.py):
  # Pub/Sub redelivers a push not answered within the deadline, so a longer request would run
  # twice at once. concurrency: the gunicorn workers x threads of the image's CMD, so Cloud Run
  # scales out instead of queueing requests inside an instance (tests/deploy/test_first_deploy.py).
  services = {
    api_gateway = {
      # timeout_s: the warehouse's wait for a BigQuery job (an upload's load job, the launch check's count
      # query), so Cloud Run never cuts a request whose job then finishes unseen
      builds = false, iap = true, memory = "1Gi", timeout_s = 600, concurrency = 16, min_instances = 0, ingress = "INGRESS_TRAFFIC_ALL"
      env = {
        PLATFORM_MLFLOW_UI_URL       = var.mlflow_ui_url
        PLATFORM_ARTIFACT_READER_URL = local.run_url["artifact_reader"]
        PLATFORM_IAP_AUDIENCE        = local.iap_audience # refuse requests that did not come through IAP (decision 053)
        PLATFORM_UPLOADS_URI         = "gs://${module.storage.names["data"]}/${local.uploads_prefix}"
        # Cloud Run refuses HTTP/1 requests above 32 MiB before the gateway sees them: the gateway's own
        # limits stay below, so an upload too large gets the gateway's 413 naming the limit
        PLATFORM_UPLOAD_MAX_BYTES           = "33488896" # 32 MiB less 64 KiB for the multipart envelope
        PLATFORM_API_MAX_BODY_BYTES         = "1048576"
        PLATFORM_GATEWAY_MAX_IN_FLIGHT      = "8" # the image's --threads per worker (decision 058)
        PLATFORM_MAX_QUEUED_RUNS            = tostring(var.max_queued_runs)
        PLATFORM_PREFLIGHT_MIN_INTERACTIONS = tostring(var.preflight_min_interactions)
        PLATFORM_PREFLIGHT_MIN_BUYERS       = tostring(var.preflight_min_buyers)
      }
    }
    submitter = {
      builds = true, iap = false, memory = "1Gi", timeout_s = 120, concurrency = 8, min_instances = 0, ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
      env = { # push requests: OIDC tokens of pubsub-push, data-source events: of eventarc-trigger, for this URL (053)
        PLATFORM_OIDC_AUDIENCE            = local.run_url["submitter"]
        PLATFORM_PUSH_SERVICE_ACCOUNT     = module.identities.emails["pubsub-push"]
        PLATFORM_EVENTARC_SERVICE_ACCOUNT = module.identities.emails["eventarc-trigger"]
      }
    }
    status_watcher = {
      builds = true, iap = false, memory = "512Mi", timeout_s = 60, concurrency = 8, min_instances = 0, ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
      env = { # push and reconcile requests: OIDC tokens of pubsub-push and reconcile-scheduler (decision 053)
        PLATFORM_OIDC_AUDIENCE             = local.run_url["status_watcher"]
        PLATFORM_PUSH_SERVICE_ACCOUNT      = module.identities.emails["pubsub-push"]
        PLATFORM_SCHEDULER_SERVICE_ACCOUNT = module.identities.emails["reconcile-scheduler"]
      }
    }
    artifact_reader = {
      builds = false, iap = false, memory = "1Gi", timeout_s = 60, concurrency = 8, min_instances = 0, ingress = "INGRESS_TRAFFIC_ALL"
      env = {
        PLATFORM_TFDV_PARSER_URL         = local.run_url["tfdv_parser"]
        PLATFORM_MLFLOW_HTTP_MAX_RETRIES = "2"  # training history: fail within seconds when MLflow is down,
        PLATFORM_MLFLOW_HTTP_TIMEOUT_S   = "10" # not after MLflow's default 7 retries of 120 s
      }
    }
    tfdv_parser = {
      builds = false, iap = false, memory = "1Gi", timeout_s = 60, concurrency = 8, min_instances = 0, ingress = "INGRESS_TRAFFIC_ALL"
      env    = {}
    }
  }

  invokers = {
    api_gateway     = []
    submitter       = [module.identities.members["pubsub-push"], module.identities.members["eventarc-trigger"]]
    status_watcher  = [module.identities.members["pubsub-push"], module.identities.members["reconcile-scheduler"]]
    artifact_reader = [module.identities.members["api-gateway"]]
    tfdv_parser     = [module.identities.members["artifact-reader"]] # statistics, schema and report page
  }

  bucket_grants = [
    { bucket = "artifacts", account = "submitter", role = "roles/storage.objectAdmin" },
    { bucket = "artifacts", account = "status-watcher", role = "roles/storage.objectViewer" },
    { bucket = "artifacts", account = "artifact-reader", role = "roles/storage.objectViewer" },
    { bucket = "artifacts", account = "tfdv-parser", role = "roles/storage.objectViewer" },
    { bucket = "artifacts", account = "compile-build", role = "roles/storage.objectAdmin" },
    { bucket = "artifacts", account = "pipeline-runner", role = "roles/storage.objectAdmin" },
    { bucket = "pipeline-root", account = "pipeline-runner", role = "roles/storage.objectAdmin" },
    { bucket = "pipeline-root", account = "artifact-reader", role = "roles/storage.objectViewer" },
    { bucket = "pipeline-root", account = "tfdv-parser", role = "roles/storage.objectViewer" },
    { bucket = "staging", account = "pipeline-runner", role = "roles/storage.objectAdmin" },
    { bucket = "data", account = "submitter", role = "roles/storage.objectViewer" },        # registers dropped files
    { bucket = "data", account = "pipeline-runner", role = "roles/storage.objectCreator" }, # pipelines drop files
  ]

  acts_as = [
    { caller = "submitter", account = "compile-build" },
    { caller = "compile-build", account = "pipeline-runner" },
    { caller = "pipeline-runner", account = "pipeline-runner" },
  ]
}

resource "google_project_service" "api" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}

module "identities" {
  source     = "../../modules/service_identities"
  project_id = var.project_id
  accounts   = local.accounts
  depends_on = [google_project_service.api]
}

module "storage" {
  source        = "../../modules/storage"
  project_id    = var.project_id
  location      = var.region
  name_prefix   = var.project_id
  buckets       = local.buckets
  force_destroy = var.throwaway
  depends_on    = [google_project_service.api]
}

module "registry" {
  source     = "../../modules/artifact_registry"
  project_id = var.project_id
  location   = var.region
  # Vertex AI pulls the pipeline image with its own service agents, whose default roles read this
  # project's registries. No grant to the Vertex AI custom-code service agent: it is created
  # with the project's first custom job, so a grant to it fails a first apply (docs/deploy.md).
  readers = [
    module.identities.members["compile-build"],
    module.identities.members["pipeline-runner"],
  ]
  depends_on = [google_project_service.api]
}

module "network" { # Dataflow only (decision 080): quick tests run Beam inside their components
  source     = "../../modules/network"
  project_id = var.project_id
  region     = var.region
  depends_on = [google_project_service.api]
}

module "firestore" {
  source            = "../../modules/firestore"
  project_id        = var.project_id
  location          = var.firestore_location
  delete_protection = !var.throwaway
  depends_on        = [google_project_service.api]
}

resource "google_storage_bucket_iam_member" "grant" {
  for_each = { for g in local.bucket_grants : "${g.bucket} ${g.account} ${g.role}" => g }
  bucket   = module.storage.names[each.value.bucket]
  role     = each.value.role
  member   = module.identities.members[each.value.account]
}

# Uploads (issue 10): the gateway writes the file under the uploads prefix of the data bucket, BigQuery's
# load job reads it with the gateway's credentials, and a file that fails to load is deleted again.
resource "google_storage_bucket_iam_member" "gateway_writes_uploads" {
  bucket = module.storage.names["data"]
  role   = "roles/storage.objectUser"
  member = module.identities.members["api-gateway"]
  condition {
    title       = "uploads-prefix"
    description = "Only objects under the uploads prefix (PLATFORM_UPLOADS_URI)."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${module.storage.names["data"]}/objects/${local.uploads_prefix}/\")"
  }
}

resource "google_bigquery_dataset" "uploads" {
  project                    = var.project_id
  dataset_id                 = "uploads"
  friendly_name              = "uploads"
  description                = "Tables loaded from dataset files uploaded through the gateway (PLATFORM_BIGQUERY_UPLOADS_DATASET)."
  location                   = var.region # a load job reads gs:// files only from a bucket in the dataset's location
  delete_contents_on_destroy = var.throwaway
  labels                     = { platform = "experiments-platform" }
  depends_on                 = [google_project_service.api]
  # checkov:skip=CKV_GCP_81:Tables of uploaded interaction data under Google-managed encryption, as the data bucket they come from; a CMEK would need its own key ring per environment.
}

resource "google_bigquery_dataset_iam_member" "gateway_loads_uploads" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.uploads.dataset_id
  role       = "roles/bigquery.dataEditor" # the load job creates the table (WRITE_EMPTY)
  member     = module.identities.members["api-gateway"]
}

resource "google_service_account_iam_member" "acts_as" {
  for_each           = { for a in local.acts_as : "${a.caller} ${a.account}" => a }
  service_account_id = "projects/${var.project_id}/serviceAccounts/${module.identities.emails[each.value.account]}"
  role               = "roles/iam.serviceAccountUser"
  member             = module.identities.members[each.value.caller]
}

module "mlflow" {
  source                = "../../modules/mlflow"
  project_id            = var.project_id
  region                = var.region
  image                 = "${local.images}/mlflow:${var.image_tag}"
  migration_token       = lower(replace(var.image_tag, "/[^A-Za-z0-9-]/", "-"))
  service_account_email = module.identities.emails["mlflow-server"]
  artifact_bucket       = module.storage.names["mlflow-artifacts"]
  database_tier         = var.mlflow_database_tier
  deletion_protection   = !var.throwaway
  invokers = [
    module.identities.members["pipeline-runner"], # the trainer logs params and per-epoch metrics
    module.identities.members["artifact-reader"], # training history for the UI
  ]
  depends_on = [google_project_service.api]
}

module "services" {
  source                = "../../modules/cloud_run_service"
  for_each              = local.services
  project_id            = var.project_id
  region                = var.region
  name                  = replace(each.key, "_", "-")
  image                 = "${local.images}/${replace(each.key, "_", "-")}:${var.image_tag}"
  service_account_email = module.identities.emails[local.service_account_of[each.key]]
  env                   = merge(local.common_env, each.value.builds ? local.build_env : {}, each.value.env, { PLATFORM_SERVICE = each.key })
  custom_audiences      = [local.run_url[each.key]]
  memory                = each.value.memory
  ingress               = each.value.ingress
  timeout_s             = each.value.timeout_s
  concurrency           = each.value.concurrency
  min_instances         = each.value.min_instances
  invokers              = local.invokers[each.key]
  iap                   = each.value.iap
  iap_members           = each.value.iap ? var.gateway_users : []
  deletion_protection   = !var.throwaway
  depends_on            = [google_project_service.api]
}

module "pubsub" {
  source     = "../../modules/pubsub"
  project_id = var.project_id
  topics     = local.topics
  subscriptions = { for name, s in local.subscriptions : name => {
    topic                 = s.topic
    push_endpoint         = "${module.services[s.service].url}${s.push_path}"
    audience              = local.run_url[s.service] # = the service's PLATFORM_OIDC_AUDIENCE
    ack_deadline_s        = s.ack_deadline_s
    max_delivery_attempts = s.max_delivery_attempts
    min_backoff_s         = s.min_backoff_s
    max_backoff_s         = s.max_backoff_s
  } }
  push_service_account_email = module.identities.emails["pubsub-push"]
  publishers                 = { for topic, services in local.publishers : topic => [for s in services : module.identities.members[local.service_account_of[s]]] }
  depends_on                 = [google_project_service.api]
}

module "event_routing" {
  source         = "../../modules/event_routing"
  project_id     = var.project_id
  state_topic_id = module.pubsub.topic_ids["pipeline-state"]
}

module "reconcile" {
  source                = "../../modules/scheduler"
  project_id            = var.project_id
  region                = var.region
  target_url            = "${module.services["status_watcher"].url}${local.reconcile_path}"
  audience              = local.run_url["status_watcher"] # = its PLATFORM_OIDC_AUDIENCE
  service_account_email = module.identities.emails["reconcile-scheduler"]
  attempt_deadline_s    = local.services["status_watcher"].timeout_s
  schedule              = "* * * * *" # every minute: it polls running experiments' jobs (issue 13 item 5)
  depends_on            = [google_project_service.api]
}

module "data_events" { # Eventarc: a dataset's source changed → the submitter refreshes or registers it
  source                        = "../../modules/data_events"
  project_id                    = var.project_id
  region                        = var.region
  service_name                  = module.services["submitter"].name
  data_bucket                   = module.storage.names["data"]
  bucket_location               = lower(var.region)
  trigger_service_account_email = module.identities.emails["eventarc-trigger"]
  depends_on                    = [google_project_service.api]
}
