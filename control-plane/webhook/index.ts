export { startWebhook, type Webhook, type WebhookOptions } from "./server.js";
export { review, type AdmissionOutcome, type AdmissionResponse, type AdmissionReviewOut } from "./admission.js";
export { selfSignedServingCert, type ServingCert } from "./serving-cert.js";
