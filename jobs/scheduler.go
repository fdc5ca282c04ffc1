package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/thuduc/maytinhchoem/campaign"
)

// DefaultOnTime is how long after its scheduled time a run still counts as on time. The cron
// timer calls back a few milliseconds after the time; anything later than this is a catch-up.
const DefaultOnTime = time.Minute

// RetryEvery is how often a scheduler on cron's timer looks again for due runs whose claim
// failed, such as one whose time came while the database was unreachable.
const RetryEvery = time.Minute

// finishTimeout bounds recording a run's end, which is done even when the scheduler is stopping
// so that a finished run never looks like one that died.
const finishTimeout = 10 * time.Second

// Job is a scheduled job as the Scheduler knows it.
type Job struct {
	// Name identifies the job in job_runs and the log ("daily_summary").
	Name string
	// Spec is a standard five-field cron spec ("0 17 * * *") or a descriptor ("@daily"), read in
	// the campaign's time zone.
	Spec string
	// Run does the job. It gets the run's details: a daily summary reports on Tick.ScheduledFor's
	// day, and may say that it comes late. Its result is logged and stored as JSON.
	Run func(ctx context.Context, t Tick) (any, error)
	// Key names a run within the job; a job runs once per key across all processes. nil means the
	// local date of the scheduled time ("2021-09-20"), so a job scheduled more often than daily
	// must give one.
	Key func(scheduledFor time.Time) string
	// CatchUp says whether a run missed at scheduledFor (the bot was down) is still worth making
	// at now, on the same local day. nil: missed runs are skipped.
	CatchUp func(scheduledFor, now time.Time) bool
}

// Tick is one run of a job.
type Tick struct {
	Job          string
	Key          string
	ScheduledFor time.Time
	// Now is when the run was decided, on the scheduler's clock.
	Now time.Time
	// Late is set on a catch-up run.
	Late bool
}

// Outcome is what a run this process made came to.
type Outcome struct {
	Tick
	Result any
	Err    error
}

// Func adapts a job type's Run method, whatever its result type, to Job.Run.
func Func[R any](run func(ctx context.Context) (R, error)) func(context.Context, Tick) (any, error) {
	return func(ctx context.Context, _ Tick) (any, error) { return run(ctx) }
}

// Until returns a CatchUp rule: a missed run is still made until the local time of day hhmm
// ("21:00") of its own day; the Scheduler never catches up a run of an earlier day anyway.
func Until(hhmm string) func(scheduledFor, now time.Time) bool {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(fmt.Sprintf("jobs: Until(%q): %v", hhmm, err))
	}
	return func(scheduledFor, now time.Time) bool {
		s := scheduledFor
		deadline := time.Date(s.Year(), s.Month(), s.Day(), t.Hour(), t.Minute(), 0, 0, s.Location())
		return now.In(s.Location()).Before(deadline)
	}
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Location is the campaign's time zone, in which specs and default keys are read.
	Location *time.Location
	Runs     campaign.JobRunStore
	// Now is the scheduler's clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// OnTime is how late a run may start and still not count as a catch-up; DefaultOnTime when 0.
	OnTime time.Duration
	// Poll, when set, replaces cron's timer, which waits on the real clock, by a check of RunDue
	// at Now every Poll: for a shifted clock, such as the demo standing on a campaign date. Keep it
	// well under OnTime, or runs come out marked late.
	Poll time.Duration
}

type scheduledJob struct {
	Job
	schedule cron.Schedule
}

// Scheduler runs jobs at their times in the campaign's time zone, each run once across every
// process sharing the JobRunStore: the process that claims a run makes it, the others skip it.
// Timing comes from robfig/cron; what a tick does is RunDue, which tests call at any instant.
type Scheduler struct {
	cfg  SchedulerConfig
	jobs []*scheduledJob
	cron *cron.Cron

	mu      sync.Mutex
	running sync.WaitGroup
	stopped bool
	// poll stops the Poll loop.
	poll context.CancelFunc
	// decided holds the runs (job and key) whose claim was settled, by this process or another,
	// so that the timer and the Poll loop do not ask the database about them again.
	decided map[[2]string]bool
}

// NewScheduler returns a Scheduler with no jobs.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnTime <= 0 {
		cfg.OnTime = DefaultOnTime
	}
	return &Scheduler{cfg: cfg}
}

// Add registers a job; call it before Start. It fails on a job without a name or Run, a name already taken, or a spec
// cron cannot read; all are mistakes in the wiring.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" || j.Run == nil {
		return errors.New("jobs: a job needs a Name and a Run")
	}
	for _, o := range s.jobs {
		if o.Name == j.Name {
			return fmt.Errorf("jobs: job %q added twice", j.Name)
		}
	}
	sched, err := cron.ParseStandard(j.Spec)
	if err != nil {
		return fmt.Errorf("jobs: job %q: spec %q: %w", j.Name, j.Spec, err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok && spec.Location == time.Local {
		// A spec without CRON_TZ is read in the campaign's zone, never the host's.
		spec.Location = s.cfg.Location
	}
	s.jobs = append(s.jobs, &scheduledJob{Job: j, schedule: sched})
	return nil
}

// Start catches up on the runs missed today, then runs the jobs at their times until ctx ends
// or Stop is called. The catch-up is done before Start returns.
func (s *Scheduler) Start(ctx context.Context) []Outcome {
	out := s.RunDue(ctx, s.cfg.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.cron != nil || s.poll != nil {
		return out
	}
	if s.cfg.Poll > 0 {
		pctx, cancel := context.WithCancel(ctx)
		s.poll = cancel
		s.running.Go(func() {
			t := time.NewTicker(s.cfg.Poll)
			defer t.Stop()
			for {
				select {
				case <-pctx.Done():
					return
				case <-t.C:
					s.RunDue(ctx, s.cfg.Now())
				}
			}
		})
		context.AfterFunc(ctx, s.Stop)
		return out
	}
	c := cron.New(cron.WithLocation(s.cfg.Location))
	for _, j := range s.jobs {
		c.Schedule(j.schedule, cron.FuncJob(func() {
			s.runDue(ctx, s.cfg.Now(), []*scheduledJob{j})
		}))
	}
	// A run whose claim failed at its time (the database was away) is tried again every
	// minute while its CatchUp rule allows; runs already decided cost nothing.
	c.Schedule(cron.Every(RetryEvery), cron.FuncJob(func() { s.RunDue(ctx, s.cfg.Now()) }))
	s.cron = c
	c.Start()
	context.AfterFunc(ctx, s.Stop)
	return out
}

// Stop stops the timer and waits for the runs under way to end.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	s.stopped = true
	c := s.cron
	poll := s.poll
	s.mu.Unlock()
	if c != nil {
		<-c.Stop().Done()
	}
	if poll != nil {
		poll()
	}
	s.running.Wait()
}

// Due lists the runs due at now, whether or not they were claimed: for each job, its latest
// scheduled time that is not after now and falls on now's local day, if that run is on time or
// its CatchUp allows it.
func (s *Scheduler) Due(now time.Time) []Tick {
	return s.due(now, s.jobs)
}

func (s *Scheduler) due(now time.Time, jobs []*scheduledJob) []Tick {
	now = now.In(s.cfg.Location)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.Location)
	var out []Tick
	for _, j := range jobs {
		at, ok := lastActivation(j.schedule, midnight, now)
		if !ok {
			continue
		}
		late := now.Sub(at) > s.cfg.OnTime
		if late && (j.CatchUp == nil || !j.CatchUp(at, now)) {
			continue
		}
		key := at.Format(time.DateOnly)
		if j.Key != nil {
			key = j.Key(at)
		}
		out = append(out, Tick{Job: j.Name, Key: key, ScheduledFor: at, Now: now, Late: late})
	}
	return out
}

// lastActivation returns the schedule's latest time in [from, now]. cron only steps forward, so
// it walks from from; a minute schedule takes 1,440 steps at most, a daily one one or two.
func lastActivation(sched cron.Schedule, from, now time.Time) (time.Time, bool) {
	var last time.Time
	for t := sched.Next(from.Add(-time.Nanosecond)); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		last = t
	}
	return last, !last.IsZero()
}

// RunDue makes the runs due at now that no process claimed yet, each in its own goroutine so a
// slow or failing job holds up no other, and returns what the runs this process made came to.
// The cron timer calls it for the job whose time came; Start calls it for all, which is the
// catch-up.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) []Outcome {
	return s.runDue(ctx, now, s.jobs)
}

func (s *Scheduler) runDue(ctx context.Context, now time.Time, jobs []*scheduledJob) []Outcome {
	ticks := s.due(now, jobs)
	s.mu.Lock()
	ticks = slices.DeleteFunc(ticks, func(t Tick) bool { return s.decided[[2]string{t.Job, t.Key}] })
	s.mu.Unlock()
	out := make([]Outcome, len(ticks))
	ran := make([]bool, len(ticks))
	var wg sync.WaitGroup
	for i, t := range ticks {
		j := s.job(t.Job)
		s.running.Add(1)
		wg.Add(1)
		go func() {
			defer s.running.Done()
			defer wg.Done()
			out[i], ran[i] = s.run(ctx, j, t)
		}()
	}
	wg.Wait()
	made := out[:0]
	for i, o := range out {
		if ran[i] {
			made = append(made, o)
		}
	}
	return made
}

func (s *Scheduler) job(name string) *scheduledJob {
	for _, j := range s.jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// run claims the tick's run and, when this process got it, makes it and records the outcome.
func (s *Scheduler) run(ctx context.Context, j *scheduledJob, t Tick) (Outcome, bool) {
	log := s.cfg.Logger.With("job", t.Job, "key", t.Key, "scheduled_for", t.ScheduledFor, "late", t.Late)
	claimed, err := s.cfg.Runs.Claim(ctx, t.Job, t.Key, t.ScheduledFor, t.Late)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("job: claim failed, run skipped", "err", err)
		}
		return Outcome{}, false
	}
	s.mu.Lock()
	if s.decided == nil {
		s.decided = map[[2]string]bool{}
	}
	s.decided[[2]string{t.Job, t.Key}] = true
	s.mu.Unlock()
	if !claimed {
		log.Debug("job: run claimed elsewhere")
		return Outcome{}, false
	}
	started := time.Now()
	res, runErr := safeRun(ctx, j.Run, t)
	took := time.Since(started)
	if runErr != nil {
		log.Error("job failed; tried again while its catch-up time lasts", "took", took, "err", runErr)
	} else {
		log.Info("job done", "took", took, "result", res)
	}
	// The run is over: record it even if ctx ended meanwhile.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err := s.cfg.Runs.Finish(fctx, t.Job, t.Key, res, runErr); err != nil {
		log.Error("job: recording the run failed", "err", err)
	} else if runErr != nil {
		// The failed run may be claimed again (campaign.MaxRunAttempts): the timer's retry or
		// the next poll asks the database about it once more.
		s.mu.Lock()
		delete(s.decided, [2]string{t.Job, t.Key})
		s.mu.Unlock()
	}
	return Outcome{Tick: t, Result: res, Err: runErr}, true
}

// safeRun turns a job's panic into its error, so one broken job cannot take the bot down.
func safeRun(ctx context.Context, run func(context.Context, Tick) (any, error), t Tick) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("job %s panicked: %v\n%s", t.Job, p, debug.Stack())
		}
	}()
	return run(ctx, t)
}
