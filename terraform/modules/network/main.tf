# The network Dataflow workers run in when a pipeline uses Dataflow (docs/decisions/080): quick
# tests run Beam inside their Vertex AI components and need none of this. Organisation projects
# often have no default network and forbid external IPs, so workers get a subnetwork of their own
# with Private Google Access (Google APIs without public IPs) and the firewall rule Dataflow needs
# between its workers (TCP 12345-12346, docs.cloud.google.com/dataflow/docs/guides/routes-firewall).

resource "google_compute_network" "dataflow" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "dataflow" {
  project                  = var.project_id
  name                     = "${var.name}-${var.region}"
  region                   = var.region
  network                  = google_compute_network.dataflow.id
  ip_cidr_range            = var.cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "dataflow_workers" {
  project     = var.project_id
  name        = "${var.name}-workers"
  network     = google_compute_network.dataflow.id
  description = "Dataflow workers exchange shuffle and data on TCP 12345-12346, among themselves only."
  direction   = "INGRESS"
  source_tags = ["dataflow"]
  target_tags = ["dataflow"]

  allow {
    protocol = "tcp"
    ports    = ["12345-12346"]
  }
}
