# Every environment is this one configuration. The Terraform workspace is the environment (its
# state is morket/<workspace>/terraform.tfstate, versions.tf), <environment>.tfvars holds what an
# installation chooses (domain, certificates, repository, CRM apps), and the profiles below hold
# what differs between environments: values only, so they share all the code.
#
# Production: three AZs, a NAT gateway per AZ, Aurora with two readers (and a separate cluster
# for Temporal), Redis with a replica, OpenSearch over three zones with dedicated masters,
# three replicated ClickHouse nodes, autoscaling services, deletion protection on.
# Staging: the production shape, reduced. Two AZs, one NAT gateway, single-node data stores, one
# task per service (autoscaling to 2), no deletion protection; it creates the account's GitHub
# OIDC provider, which production then uses. Sizes are derived in docs/deploy.md ("Capacity").
locals {
  profiles = {
    production = {
      create_github_oidc_provider = false
      deletion_protection         = true
      az_count                    = 3
      single_nat_gateway          = false
      sizes = {
        api     = { cpu = 1024, memory = 2048, min = 3, max = 30 }
        worker  = { cpu = 1024, memory = 2048, min = 3, max = 60 }
        scraper = { cpu = 2048, memory = 4096, min = 2, max = 20 }
      }
      aurora     = { instance_class = "db.r7g.xlarge", reader_count = 2, temporal_cluster = true }
      redis      = { node_type = "cache.r7g.large", replicas = 1 }
      opensearch = { instance_type = "r6g.large.search", instance_count = 3, zone_count = 3, master_count = 3, volume_gb = 200 }
      clickhouse = { node_count = 3, instance_type = "r7i.xlarge", data_volume_gb = 500 }
      temporal   = { server_count = 3, cpu = 2048, memory = 4096 }
    }
    staging = {
      create_github_oidc_provider = true
      deletion_protection         = false
      az_count                    = 2
      single_nat_gateway          = true
      sizes = {
        api     = { cpu = 512, memory = 1024, min = 1, max = 2 }
        worker  = { cpu = 1024, memory = 2048, min = 1, max = 2 }
        scraper = { cpu = 2048, memory = 4096, min = 1, max = 2 }
      }
      aurora     = { instance_class = "db.t4g.medium", reader_count = 0, temporal_cluster = false }
      redis      = { node_type = "cache.t4g.micro", replicas = 0 }
      opensearch = { instance_type = "t3.medium.search", instance_count = 1, zone_count = 1, master_count = 0, volume_gb = 20 }
      clickhouse = { node_count = 1, instance_type = "m7i.large", data_volume_gb = 50 }
      temporal   = { server_count = 1, cpu = 512, memory = 1024 }
    }
  }
  profile = local.profiles[var.environment]
  tags    = { Project = "morket", Environment = var.environment, ManagedBy = "terraform" }
}

# The tfvars file and the selected workspace (the state) must name the same environment: staging's
# values applied to production's state would rebuild production as staging.
resource "terraform_data" "environment" {
  input = var.environment
  lifecycle {
    precondition {
      condition     = var.environment == terraform.workspace
      error_message = "The workspace is not the tfvars file's environment: terraform workspace select <environment> (docs/deploy.md)."
    }
  }
}

module "morket" {
  source    = "../modules/stack"
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  environment                 = var.environment
  image_tag                   = var.image_tag
  domain                      = var.domain
  api_origin_domain           = var.api_origin_domain
  cloudfront_certificate_arn  = var.cloudfront_certificate_arn
  alb_certificate_arn         = var.alb_certificate_arn
  github_owner                = var.github_owner
  github_repo                 = var.github_repo
  create_github_oidc_provider = local.profile.create_github_oidc_provider
  alarm_emails                = var.alarm_emails
  provider_rate_limits        = var.provider_rate_limits
  crm_client_ids              = var.crm_client_ids
  crm_client_secrets          = var.crm_client_secrets
  deletion_protection         = local.profile.deletion_protection

  az_count           = local.profile.az_count
  single_nat_gateway = local.profile.single_nat_gateway
  sizes              = local.profile.sizes
  aurora             = local.profile.aurora
  redis              = local.profile.redis
  opensearch         = local.profile.opensearch
  clickhouse         = local.profile.clickhouse
  temporal           = local.profile.temporal
}
