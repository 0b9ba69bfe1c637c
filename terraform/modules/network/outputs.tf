output "dataflow_subnetwork" {
  description = "The subnetwork as Dataflow's --subnetwork takes it: regions/REGION/subnetworks/NAME."
  value       = "regions/${var.region}/subnetworks/${google_compute_subnetwork.dataflow.name}"
}
