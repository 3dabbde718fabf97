package events

import "slices"

// Type is a detail type of the catalogue. Emitters take a Type, so one
// cannot spell a detail type the catalogue lacks; every Type has a JSON
// Schema in schemas/events/ (a test holds the two lists together).
type Type string

// The catalogue, one constant per detail type.
const (
	ContactCreated  Type = "contact.created"
	ContactUpdated  Type = "contact.updated"
	ContactDeleted  Type = "contact.deleted"
	ContactScored   Type = "contact.scored"
	ContactAssigned Type = "contact.assigned"

	CompanyCreated Type = "company.created"
	CompanyUpdated Type = "company.updated"
	CompanyDeleted Type = "company.deleted"

	ActivityLogged  Type = "activity.logged"
	ActivityUpdated Type = "activity.updated"
	ActivityDeleted Type = "activity.deleted"

	PipelineCreated Type = "pipeline.created"
	PipelineUpdated Type = "pipeline.updated"
	PipelineDeleted Type = "pipeline.deleted"

	DealCreated      Type = "deal.created"
	DealUpdated      Type = "deal.updated"
	DealDeleted      Type = "deal.deleted"
	DealStageChanged Type = "deal.stage_changed"
	DealWon          Type = "deal.won"
	DealLost         Type = "deal.lost"

	UserCreated Type = "user.created"
	UserUpdated Type = "user.updated"
	UserDeleted Type = "user.deleted"

	PluginVersionUploaded Type = "plugin.version_uploaded"
	PluginVersionDeleted  Type = "plugin.version_deleted"
	PluginActivated       Type = "plugin.activated"
	PluginRolledBack      Type = "plugin.rolled_back"
	PluginDisabled        Type = "plugin.disabled"

	APIKeyCreated Type = "api_key.created"
	APIKeyRotated Type = "api_key.rotated"
	APIKeyRevoked Type = "api_key.revoked"

	// ScoringRescoreRequested asks for the next part of a re-scoring job.
	ScoringRescoreRequested Type = "scoring.rescore_requested"

	// TimerDue hands a due timer to the worker (AWS): the scheduler function
	// sends it, the timers consumer acts on the timer it names.
	TimerDue Type = "timer.due"
	// TimerFired is what a timer of the built-in kind "emit" writes when due.
	TimerFired Type = "timer.fired"

	// JobStepRequested asks for the next step of a background job (core/jobs).
	JobStepRequested Type = "job.step_requested"

	// Commerce (core/commerce) and what it means about customers
	// (core/customers).
	ProductCreated          Type = "product.created"
	ProductUpdated          Type = "product.updated"
	ProductDeleted          Type = "product.deleted"
	OrderPlaced             Type = "order.placed"
	OrderUpdated            Type = "order.updated"
	OrderCancelled          Type = "order.cancelled"
	OrderRefunded           Type = "order.refunded"
	ContactLifecycleChanged Type = "contact.lifecycle_changed"

	// Segments and lists (core/segments): the records, and each contact
	// entering or leaving one.
	SegmentCreated Type = "segment.created"
	SegmentUpdated Type = "segment.updated"
	SegmentDeleted Type = "segment.deleted"
	SegmentEntered Type = "segment.entered"
	SegmentExited  Type = "segment.exited"
	// Messaging (core/messaging): the delivery policy's answers, and the
	// receipts providers report.
	MessageRequested    Type = "message.requested"
	MessageDeferred     Type = "message.deferred"
	MessageSkipped      Type = "message.skipped"
	MessageDelivered    Type = "message.delivered"
	MessageOpened       Type = "message.opened"
	MessageClicked      Type = "message.clicked"
	MessageBounced      Type = "message.bounced"
	MessageComplained   Type = "message.complained"
	MessageUnsubscribed Type = "message.unsubscribed"
	// Journeys (core/journeys): the journey record, and each enrolment's
	// progress on the contact's timeline.
	JourneyCreated       Type = "journey.created"
	JourneyUpdated       Type = "journey.updated"
	JourneyDeleted       Type = "journey.deleted"
	JourneyEnrolled      Type = "journey.enrolled"
	JourneyStepStarted   Type = "journey.step_started"
	JourneyStepCompleted Type = "journey.step_completed"
	JourneyExited        Type = "journey.exited"
	JourneyConverted     Type = "journey.converted"
	// Campaigns (core/campaigns): every change of a campaign, its status
	// included, with its actor: the campaign's audit.
	CampaignCreated Type = "campaign.created"
	CampaignUpdated Type = "campaign.updated"
	CampaignDeleted Type = "campaign.deleted"
)

var catalogue = []Type{
	ContactCreated, ContactUpdated, ContactDeleted, ContactScored, ContactAssigned,
	CompanyCreated, CompanyUpdated, CompanyDeleted,
	ActivityLogged, ActivityUpdated, ActivityDeleted,
	PipelineCreated, PipelineUpdated, PipelineDeleted,
	DealCreated, DealUpdated, DealDeleted, DealStageChanged, DealWon, DealLost,
	UserCreated, UserUpdated, UserDeleted,
	PluginVersionUploaded, PluginVersionDeleted, PluginActivated, PluginRolledBack, PluginDisabled,
	APIKeyCreated, APIKeyRotated, APIKeyRevoked,
	ScoringRescoreRequested,
	TimerDue, TimerFired,
	JobStepRequested,
	ProductCreated, ProductUpdated, ProductDeleted,
	OrderPlaced, OrderUpdated, OrderCancelled, OrderRefunded,
	ContactLifecycleChanged,
	SegmentCreated, SegmentUpdated, SegmentDeleted, SegmentEntered, SegmentExited,
	MessageRequested, MessageDeferred, MessageSkipped,
	MessageDelivered, MessageOpened, MessageClicked, MessageBounced, MessageComplained, MessageUnsubscribed,
	JourneyCreated, JourneyUpdated, JourneyDeleted,
	JourneyEnrolled, JourneyStepStarted, JourneyStepCompleted, JourneyExited, JourneyConverted,
	CampaignCreated, CampaignUpdated, CampaignDeleted,
}

// Catalogue lists every detail type Fedele emits.
func Catalogue() []Type { return slices.Clone(catalogue) }

// Lookup returns the catalogue's type spelled s; code that builds a type
// from parts (a record kind and a verb) goes through it, so a spelling the
// catalogue lacks is an error rather than an event nobody documented.
func Lookup(s string) (Type, bool) {
	if i := slices.Index(catalogue, Type(s)); i >= 0 {
		return catalogue[i], true
	}
	return "", false
}
