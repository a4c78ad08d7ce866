# Self-managed ClickHouse on EC2 (see docs/deploy.md for why not ClickHouse Cloud): N nodes in the
# private subnets, data on encrypted gp3, backups with BACKUP ... TO S3 into the backup bucket.
# With node_count >= 3 every node also runs ClickHouse Keeper and tables are Replicated*MergeTree.
variable "name" {
  description = "Prefix of the nodes' names."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the nodes."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets; nodes are spread over them."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed on the HTTP interface (8123)."
  type        = list(string)
}

variable "node_count" {
  description = "1 (staging) or 3 (production: one replica per AZ, Keeper quorum)."
  type        = number
  default     = 1
  validation {
    condition     = var.node_count == 1 || var.node_count >= 3
    error_message = "Keeper needs a quorum: 1 node, or 3 and more."
  }
}

variable "instance_type" {
  description = "Node instance type (memory-optimised; ClickHouse likes RAM for merges and joins)."
  type        = string
  default     = "r7i.xlarge"
}

variable "data_volume_gb" {
  description = "gp3 data volume per node."
  type        = number
  default     = 200
}

variable "ami_ssm_parameter" {
  description = "SSM parameter holding the AMI (Debian 12)."
  type        = string
  default     = "/aws/service/debian/release/12/latest/amd64"
}

variable "clickhouse_version" {
  description = "ClickHouse server package version installed at boot (an LTS)."
  type        = string
  default     = "24.8.11.5"
}

variable "password_secret_arn" {
  description = "Secrets Manager secret holding the morket user's password."
  type        = string
}

variable "backup_bucket_arn" {
  description = "Bucket of the nightly BACKUP ... TO S3."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the volumes, the secret and the backup bucket."
  type        = string
}

data "aws_ssm_parameter" "ami" {
  name = var.ami_ssm_parameter
}

resource "aws_security_group" "this" {
  name        = "${var.name}-clickhouse"
  description = "ClickHouse HTTP from the services; replication and Keeper between nodes"
  vpc_id      = var.vpc_id
  ingress {
    description     = "HTTP interface from the services"
    from_port       = 8123
    to_port         = 8123
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
  ingress {
    description = "interserver replication (9009) and Keeper (9181, 9234) between nodes"
    from_port   = 9009
    to_port     = 9234
    protocol    = "tcp"
    self        = true
  }
  egress {
    description = "HTTPS: packages at boot, S3 backups, SSM"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "replication and Keeper between nodes"
    from_port   = 9009
    to_port     = 9234
    protocol    = "tcp"
    self        = true
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-clickhouse"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Shell access through SSM Session Manager only: no SSH key, no port 22.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "this" {
  name = "clickhouse"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = var.password_secret_arn },
      { Effect = "Allow", Action = ["s3:ListBucket"], Resource = var.backup_bucket_arn },
      { Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource = "${var.backup_bucket_arn}/clickhouse/*" },
      { Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = var.kms_key_arn },
    ]
  })
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-clickhouse"
  role = aws_iam_role.this.name
}

resource "aws_instance" "this" {
  count                       = var.node_count
  ami                         = data.aws_ssm_parameter.ami.value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  ebs_optimized               = true
  monitoring                  = true
  user_data_replace_on_change = false
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    version       = var.clickhouse_version
    node_index    = count.index + 1
    node_count    = var.node_count
    name          = var.name
    secret_arn    = var.password_secret_arn
    backup_bucket = split(":::", var.backup_bucket_arn)[1]
  })

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 30
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }

  ebs_block_device {
    device_name           = "/dev/sdf"
    volume_type           = "gp3"
    volume_size           = var.data_volume_gb
    iops                  = 6000
    throughput            = 500
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = false
  }

  tags = { Name = "${var.name}-clickhouse-${count.index + 1}", Role = "clickhouse" }

  lifecycle {
    ignore_changes = [ami]
  }
}

resource "aws_route53_zone" "internal" {
  name = "clickhouse.${var.name}.internal"
  vpc {
    vpc_id = var.vpc_id
  }
}

# One name for the clients (every node answers queries on Distributed/Replicated tables).
resource "aws_route53_record" "nodes" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "clickhouse.${var.name}.internal"
  type    = "A"
  ttl     = 30
  records = aws_instance.this[*].private_ip
}

# Per-node names for Keeper's raft configuration and replication.
resource "aws_route53_record" "node" {
  count   = var.node_count
  zone_id = aws_route53_zone.internal.zone_id
  name    = "node-${count.index + 1}.clickhouse.${var.name}.internal"
  type    = "A"
  ttl     = 30
  records = [aws_instance.this[count.index].private_ip]
}

output "endpoint" {
  description = "HTTP endpoint of the cluster (host:8123)."
  value       = "clickhouse.${var.name}.internal:8123"
}

output "instance_ids" {
  description = "For CloudWatch alarms and SSM sessions."
  value       = aws_instance.this[*].id
}

output "security_group_id" {
  description = "Security group of the nodes."
  value       = aws_security_group.this.id
}
