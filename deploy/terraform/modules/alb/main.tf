variable "name" {
  description = "Prefix of the load balancer's resources."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets, one per AZ."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the API's host name."
  type        = string
}

variable "ingress_cidrs" {
  description = "Who may reach the load balancer (CloudFront's origin-facing ranges are added by prefix list)."
  type        = list(string)
  default     = []
}

variable "access_logs_bucket" {
  description = "S3 bucket for access logs."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer (production)."
  type        = bool
  default     = true
}

variable "waf_acl_arn" {
  description = "Regional WAFv2 web ACL attached to the load balancer."
  type        = string
}

variable "origin_secret" {
  description = "Value of the X-Origin-Verify header CloudFront adds; requests without it get 403."
  type        = string
  sensitive   = true
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "HTTPS from CloudFront to the API load balancer"
  vpc_id      = var.vpc_id
  ingress {
    description     = "HTTPS from CloudFront"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [data.aws_ec2_managed_prefix_list.cloudfront.id]
    cidr_blocks     = var.ingress_cidrs
  }
  egress {
    description = "to the API tasks"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:the web ACL comes from modules/waf (with AWSManagedRulesKnownBadInputsRuleSet, the Log4j rules; asserted by backend/tests/deploy) and checkov does not follow it across modules
  #checkov:skip=CKV_AWS_150:deletion_protection is a variable: true in production (asserted by backend/tests/deploy), false in disposable staging
  name                       = substr(var.name, 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Server-sent events hold a connection open; the API sends a comment every 15 s.
  idle_timeout = 120
  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_acl_arn
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; ALB to task is inside private subnets and security groups, and the containers hold no certificates
  name                 = substr("${var.name}-api", 0, 32)
  vpc_id               = var.vpc_id
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  deregistration_delay = 30
  health_check {
    path                = "/api/v1/health"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      status_code  = "403"
      message_body = "{\"success\":false,\"data\":null,\"error\":{\"code\":\"forbidden\",\"message\":\"use the public URL\",\"details\":null},\"meta\":null}"
    }
  }
}

# Only requests that came through CloudFront (which adds the shared header) reach the API.
resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
  condition {
    http_header {
      http_header_name = "X-Origin-Verify"
      values           = [var.origin_secret]
    }
  }
}

output "dns_name" {
  description = "The load balancer's DNS name (CloudFront's API origin)."
  value       = aws_lb.this.dns_name
}

output "arn_suffix" {
  description = "For CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn" {
  description = "Target group of the API service."
  value       = aws_lb_target_group.api.arn
}

output "target_group_arn_suffix" {
  description = "For CloudWatch metrics."
  value       = aws_lb_target_group.api.arn_suffix
}

output "resource_label" {
  description = "app/<alb>/<id>/targetgroup/<tg>/<id> for the request-count scaling policy."
  value       = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.api.arn_suffix}"
}

output "security_group_id" {
  description = "Security group of the load balancer (the API tasks accept only it)."
  value       = aws_security_group.alb.id
}
